"""A national-scale activity dataset for benchmarks and for trying the product at scale.

``manage.py generate_activity`` writes inspections, findings and cases on top
of the imported division table, deterministically from a seed:

* **villages** get a heavy-tailed weight (a few villages are visited and
  found at fault far more often than most), so counties and provinces differ
  the way real activity does;
* **inspections** spread over the last ``days`` days (and a few weeks ahead:
  scheduled visits), weekdays far more than weekends, windows of one to five
  days, modes from double-random sampling to complaint checks; past windows
  are mostly submitted, some cancelled, a few missed;
* **cases** (one per finding) come from submitted inspections, categories
  weighted by domain (garbage most, then sewage, black and odorous water,
  toilets, appearance), severities mostly minor or moderate; their status
  depends on their age against their deadline (old cases mostly closed, recent
  ones open or rectifying), overdue ones escalated one or two levels.

Rows are written in bulk: ``COPY`` on PostgreSQL (two to four minutes for the
full two million inspections and half a million cases on two cores), batched
``INSERT`` elsewhere. Generated rows are marked (inspection summary
``[generated]``, finding description ``[generated]``) and carry no case event
history. The deadline is counted in calendar days (working days × 7/5) rather
than on the holiday calendar: a dataset, not a workflow (days are China's,
as everywhere).

Development data, not a product service: only the command and the
benchmarks call it.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.bulk import write_rows
from inspections.accounts.models import User
from inspections.cases.models import Case, CaseStatus
from inspections.checklist.models import ProblemCategory
from inspections.checklist.services import checklist_load
from inspections.common.china_time import SHANGHAI, local_date
from inspections.fieldwork.coverage import coverage_recount
from inspections.fieldwork.models import CoverageTally, Finding, Inspection
from villages.models import Village

MARKER = "[generated]"
GENERATOR_USERNAME = "activity-generator"

MODES = [
    (Inspection.Mode.RANDOM, 50),
    (Inspection.Mode.UNANNOUNCED, 20),
    (Inspection.Mode.SPECIAL, 10),
    (Inspection.Mode.LOOK_BACK, 8),
    (Inspection.Mode.REPORT, 5),
    (Inspection.Mode.ROUTINE, 5),
    (Inspection.Mode.VERIFICATION, 2),
]
DOMAIN_WEIGHTS = {"garbage": 35, "sewage": 25, "black_odorous_water": 15, "toilets": 15, "appearance": 10}
SEVERITIES = [("minor", 45), ("moderate", 40), ("serious", 15)]


class NoVillagesError(Exception):
    """There is nothing to generate activity in: the division table is not imported (there)."""


@dataclass(frozen=True)
class ActivityResult:
    inspections: int
    cases: int
    seconds: float


def generated_counts() -> tuple[int, int]:
    """How many generated inspections and findings the database holds."""
    return (
        Inspection.objects.filter(summary=MARKER).count(),
        Finding.objects.filter(description=MARKER).count(),
    )


def _weighted(rng: random.Random, choices: Sequence[tuple[Any, int]]) -> Callable[[], Any]:
    values = [c for c, _w in choices]
    cumulative = []
    total = 0
    for _c, weight in choices:
        total += weight
        cumulative.append(total)

    def pick() -> Any:
        return rng.choices(values, cum_weights=cumulative)[0]

    return pick


def _reset_sequences(models: Iterable[Any]) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - names are ours
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )


def activity_generate(
    *,
    inspections: int = 2_000_000,
    cases: int = 500_000,
    prefix: str = "",
    days: int = 365,
    seed: int = 20250106,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
    if_absent: bool = False,
) -> ActivityResult | None:
    """Generate ``inspections`` inspections and about ``cases`` cases in villages under ``prefix``.

    With ``if_absent``, does nothing (and returns ``None``) when generated
    inspections are already there. Raises :class:`NoVillagesError` when no
    village lies under ``prefix``.
    """
    if if_absent and generated_counts()[0]:
        return None
    started = timezone.now()
    now = now or started
    say = progress or (lambda _line: None)
    rng = random.Random(seed)
    checklist_load(path=Path(settings.BASE_DIR) / "seeds" / "problem_categories.json")
    author, _ = User.objects.get_or_create(
        username=GENERATOR_USERNAME, defaults={"is_active": False, "first_name": "generator"}
    )
    village_ids = list(
        Village.objects.filter(code__startswith=prefix).order_by("id").values_list("id", flat=True)
    )
    if not village_ids:
        raise NoVillagesError(f"no villages under {prefix!r}: import the division table first")
    # Heavy tail: Pareto weights, so some villages see many visits and problems.
    weights = [rng.paretovariate(2.5) for _ in village_ids]
    cumulative, total = [], 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    categories = list(
        ProblemCategory.objects.filter(is_active=True).values_list("id", "domain", "rectification_days")
    )
    by_domain: dict[str, list[tuple[int, int]]] = {}
    for pk, domain, days_given in categories:
        by_domain.setdefault(domain, []).append((pk, days_given))
    domains = [(d, w) for d, w in DOMAIN_WEIGHTS.items() if d in by_domain]
    pick_mode = _weighted(rng, MODES)
    pick_domain = _weighted(rng, domains)
    pick_severity = _weighted(rng, SEVERITIES)
    finding_share = cases / inspections if inspections else 0.0

    ops = connection.ops
    adapt_dt = ops.adapt_datetimefield_value
    adapt_d = ops.adapt_datefield_value
    uuid_field = Finding._meta.get_field("client_uuid")

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Inspection._meta.db_table}")  # noqa: S608
        next_inspection = cursor.fetchone()[0] + 1
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Finding._meta.db_table}")  # noqa: S608
        next_finding = cursor.fetchone()[0] + 1
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Case._meta.db_table}")  # noqa: S608
        next_case = cursor.fetchone()[0] + 1

    span = dt.timedelta(days=days)
    ahead = dt.timedelta(days=21)
    origin = now - span
    to_open: list[tuple[int, int, dt.datetime]] = []  # (inspection, village, submitted at)

    def inspection_rows() -> Iterator[Sequence[Any]]:
        for n in range(inspections):
            pk = next_inspection + n
            village = village_ids[_bisect(cumulative, rng.random() * total)]
            start = origin + (span + ahead) * rng.random()
            local = start.astimezone(SHANGHAI)
            if local.weekday() >= 5 and rng.random() < 0.8:
                start -= dt.timedelta(days=local.weekday() - 4)  # mostly on working days
            start = start.replace(minute=0, second=0, microsecond=0)
            end = start + dt.timedelta(days=rng.choice((1, 1, 2, 2, 3, 5)))
            status, submitted = _inspection_status(rng, start, end, now)
            # Oversample a little (about 10 %), then draw exactly `cases` below.
            if submitted is not None and rng.random() < finding_share * 1.1:
                findings = 1 + (rng.random() < 0.12) + (rng.random() < 0.04)
                for _ in range(findings):
                    to_open.append((pk, village, submitted))
            yield (
                pk,
                pick_mode(),
                village,
                adapt_dt(start),
                adapt_dt(end),
                status,
                MARKER,
                adapt_dt(submitted) if submitted else None,
                adapt_dt(start - dt.timedelta(days=7)),
            )

    with transaction.atomic():
        written = write_rows(
            Inspection._meta.db_table,
            [
                "id",
                "mode",
                "village_id",
                "window_start",
                "window_end",
                "status",
                "summary",
                "submitted_at",
                "created_at",
            ],
            inspection_rows(),
        )
        say(f"inspections: {written}")
        if len(to_open) > cases:
            to_open = rng.sample(to_open, cases)
        to_open.sort()
        plan = []
        for n, (inspection_id, village, submitted) in enumerate(to_open):
            category_id, days_given = rng.choice(by_domain[pick_domain()])
            plan.append(
                (next_finding + n, next_case + n, inspection_id, village, submitted, category_id, days_given)
            )

        def finding_rows() -> Iterator[Sequence[Any]]:
            for finding_id, _case_id, inspection_id, _village, submitted, category_id, _days in plan:
                yield (
                    finding_id,
                    uuid_field.get_db_prep_value(uuid.UUID(int=rng.getrandbits(128), version=4), connection),
                    inspection_id,
                    category_id,
                    "moderate",
                    MARKER,
                    "",
                    "[]",
                    "[]",
                    author.pk,
                    adapt_dt(submitted),
                )

        write_rows(
            Finding._meta.db_table,
            [
                "id",
                "client_uuid",
                "inspection_id",
                "category_id",
                "severity",
                "description",
                "datum",
                "photo_uuids",
                "dropped_photo_uuids",
                "created_by_id",
                "created_at",
            ],
            finding_rows(),
        )

        # Each problem is handed to its village's township (the default responsible unit).
        townships = dict(Village.objects.filter(code__startswith=prefix).values_list("pk", "township_id"))

        def case_rows() -> Iterator[Sequence[Any]]:
            today = local_date(now)
            for finding_id, case_id, inspection_id, village, opened, category_id, days_given in plan:
                calendar_days = math.ceil(days_given * 7 / 5)
                deadline = local_date(opened) + dt.timedelta(days=calendar_days)
                status, closed = _case_status(rng, opened, deadline, now)
                overdue_days = (today - deadline).days
                level = 0
                if (
                    status in (CaseStatus.OPEN, CaseStatus.RECTIFYING, CaseStatus.REOPENED)
                    and overdue_days > 0
                ):
                    level = 1 if overdue_days < 10 else 2
                yield (
                    case_id,
                    finding_id,
                    inspection_id,
                    village,
                    category_id,
                    pick_severity(),
                    status,
                    adapt_dt(opened),
                    adapt_d(deadline),
                    adapt_d(local_date(opened)),
                    days_given,
                    "",
                    int(status == CaseStatus.REOPENED),
                    False,
                    adapt_dt(closed) if closed else None,
                    level,
                    adapt_dt(opened + dt.timedelta(days=calendar_days + 1)) if level else None,
                    None,
                    0,
                    "",
                    "",
                    adapt_dt(opened),  # handed over (交办) on submission
                    False,
                    townships.get(village),
                    "",
                    "",
                    "",
                )

        made = write_rows(
            Case._meta.db_table,
            [
                "id",
                "finding_id",
                "inspection_id",
                "village_id",
                "category_id",
                "severity",
                "status",
                "opened_at",
                "deadline",
                "deadline_from",
                "deadline_working_days",
                "deadline_warning",
                "reopen_count",
                "is_relapse",
                "closed_at",
                "escalation_level",
                "escalated_at",
                "escalation_due_on",
                "event_count",
                "last_event_hash",
                "review_note",
                "handed_over_at",
                "is_false_rectification",
                "responsible_division_id",
                "responsible_person_name",
                "responsible_person_post",
                "measures",
            ],
            case_rows(),
        )
        say(f"findings and cases: {made}")
        _reset_sequences([Inspection, Finding, Case])
    # Written in bulk, past Inspection.submit: the year's coverage tallies are counted again.
    recount = coverage_recount()
    say(f"coverage tallies: {recount.tallies}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Inspection, Finding, Case, CoverageTally):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    return ActivityResult(written, made, (timezone.now() - started).total_seconds())


def _bisect(cumulative: list[float], x: float) -> int:
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _inspection_status(
    rng: random.Random, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> tuple[str, dt.datetime | None]:
    if start > now:
        return Inspection.Status.SCHEDULED, None
    if end > now:
        if rng.random() < 0.4:
            return Inspection.Status.IN_PROGRESS, None
        return Inspection.Status.SCHEDULED, None
    roll = rng.random()
    if roll < 0.03:
        return Inspection.Status.CANCELLED, None
    if roll < 0.07:
        return Inspection.Status.SCHEDULED, None  # missed: never submitted
    return Inspection.Status.SUBMITTED, start + (end - start) * (0.2 + 0.75 * rng.random())


def _case_status(
    rng: random.Random, opened: dt.datetime, deadline: dt.date, now: dt.datetime
) -> tuple[str, dt.datetime | None]:
    age = (now - opened).days
    past_deadline = local_date(now) > deadline
    roll = rng.random()
    if past_deadline:
        table = [
            (CaseStatus.CLOSED, 0.78),
            (CaseStatus.AWAITING_VERIFICATION, 0.05),
            (CaseStatus.RECTIFYING, 0.09),
        ]
        table += [(CaseStatus.OPEN, 0.05), (CaseStatus.REOPENED, 0.03)]
    else:
        table = [
            (CaseStatus.OPEN, 0.3),
            (CaseStatus.RECTIFYING, 0.4),
            (CaseStatus.AWAITING_VERIFICATION, 0.2),
        ]
        table += [(CaseStatus.CLOSED, 0.1)]
    status = table[-1][0]
    for candidate, share in table:
        if roll < share:
            status = candidate
            break
        roll -= share
    closed = None
    if status == CaseStatus.CLOSED:
        closed = opened + dt.timedelta(days=max(age, 1) * rng.uniform(0.2, 0.95))
    return status, closed
