"""The figures of a digest: one jurisdiction, one period, a fixed number of queries.

:func:`digest_build` reads everything a digest shows for a code prefix and a
period, each figure beside the same figure for the previous period, in nine to
eleven queries whatever the amount of data (one or two for the holiday calendar, one
per block below, two or three for the evidence flags). The figures are defined on
time, not on the current state only, so that a replay or a preview of a past period
shows what that period held:

* **coverage**: inspections whose visit window *closed* in the period
  (planned; cancelled ones left out) and, of those, the ones submitted before
  the period ended (done). A window still open, or not yet open, is never
  counted: a count of visits in progress would tell the inspected side that
  a visit is coming (四不两直), and no digest may reveal that. For the same
  reason the window is cut at the moment the digest is built, so a preview of
  the current or a future period counts nothing that has not closed yet.
* **new cases** (opened in the period) by domain, category and severity;
  **closed** cases (销号, closed in the period). Cases exist only for
  submitted inspections (the cases service opens them at submission), so
  they never reveal an embargoed visit.
* **open**, **overdue** and **due soon** are the state at the end of the
  period: open = opened before the end and not closed before it; overdue =
  open, owing a rectification (status open, rectifying or reopened, or closed
  only after the end) and past its deadline; due soon = the same but with the
  deadline within the next five working days (China's calendar). The
  previous period's state is reconstructed the same way from the records as
  they stand now: a case whose status changed back and forth since then is
  counted by its current status.
* **relapsed** (返黑返臭: a look-back found the problem back after a real fix)
  and, counted apart, **false rectification** (虚假整改: a visit found the
  reported rectification was never done): problems open at the end of each
  period that carry the flag (as the records stand now).
* **evidence flags awaiting review**: see :func:`evidence_flags_awaiting_review`.
* **villages with the most open cases** at the end of the period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import get_language

from inspections.accounts.models import User
from inspections.cases.models import NOT_HANDED_OVER, RECTIFICATION_DUE, Case, CaseStatus, overdue_condition
from inspections.checklist.models import Domain, Severity
from inspections.common.china_time import day_start, local_date
from inspections.complaints.selectors import complaints_within
from inspections.digests.models import DigestKind
from inspections.evidence.flags import flags_naming, has_own_flag
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from inspections.workdays.calendar import WorkingCalendar, add_working_days

# How far ahead "due soon" looks, in working days.
DUE_SOON_WORKING_DAYS = 5
# Rows shown in the email body; the CSV attachment carries the overdue list in full.
LIST_ROWS = 15
TOP_VILLAGES = 10


# --- Periods ----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A day or a Monday-to-Sunday week, in China time. ``start`` is the key."""

    kind: str
    start: dt.date

    @classmethod
    def containing(cls, kind: str, day: dt.date) -> Period:
        if kind == DigestKind.WEEKLY:
            return cls(kind=kind, start=day - dt.timedelta(days=day.weekday()))
        return cls(kind=kind, start=day)

    @classmethod
    def last_complete(cls, kind: str, now: dt.datetime) -> Period:
        """The period a digest sent at ``now`` reports on: yesterday, or last week."""
        today = local_date(now)
        return cls.containing(kind, today - dt.timedelta(days=1 if kind == DigestKind.DAILY else 7))

    @property
    def days(self) -> int:
        return 7 if self.kind == DigestKind.WEEKLY else 1

    @property
    def end(self) -> dt.date:
        """The first day after the period: the day the digest is sent."""
        return self.start + dt.timedelta(days=self.days)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def previous(self) -> Period:
        return Period(kind=self.kind, start=self.start - dt.timedelta(days=self.days))

    def start_at(self) -> dt.datetime:
        """The first instant of the period in China."""
        return day_start(self.start)

    def end_at(self) -> dt.datetime:
        """The first instant after the period in China (periods are half-open)."""
        return day_start(self.end)

    def label(self) -> str:
        if self.kind == DigestKind.WEEKLY:
            return f"{self.start:%Y-%m-%d} – {self.last_day:%Y-%m-%d}"
        return f"{self.start:%Y-%m-%d}"


# --- The figures -------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """A figure in this period and in the previous one."""

    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous

    @property
    def delta(self) -> str:
        """The change as shown: ``+3``, ``−2`` or ``±0``."""
        if self.change > 0:
            return f"+{self.change}"
        if self.change < 0:
            return f"−{-self.change}"
        return "±0"


@dataclass(frozen=True)
class Breakdown:
    key: str
    label: str
    new: Pair
    closed: Pair
    domain: str = ""


@dataclass(frozen=True)
class CaseRow:
    id: int
    village_code: str
    village_name: str
    category: str
    domain: str
    severity: str
    status: str
    opened_on: dt.date
    deadline: dt.date
    days_overdue: int
    days_left: int
    escalation_level: int


@dataclass(frozen=True)
class VillageRow:
    code: str
    name: str
    open: Pair


@dataclass
class Digest:
    """Everything a digest shows, for one code prefix and one period."""

    prefix: str
    period: Period
    built_at: dt.datetime
    planned: Pair
    done: Pair
    new_cases: Pair
    closed_cases: Pair
    open_cases: Pair
    overdue: Pair
    due_soon: Pair
    escalated_overdue: int
    evidence_flags: Pair
    awaiting_review: int = 0  # findings not yet confirmed (交办) by the organising level
    # Open problems found relapsed (返黑返臭, after a real fix) and, apart, falsely rectified (虚假整改).
    relapsed: Pair = field(default_factory=lambda: Pair(0, 0))
    false_rectified: Pair = field(default_factory=lambda: Pair(0, 0))
    overdue_replies: Pair = field(default_factory=lambda: Pair(0, 0))  # complaints not answered in time
    by_domain: list[Breakdown] = field(default_factory=list)
    by_category: list[Breakdown] = field(default_factory=list)
    by_severity: list[Breakdown] = field(default_factory=list)
    overdue_rows: list[CaseRow] = field(default_factory=list)
    due_soon_rows: list[CaseRow] = field(default_factory=list)
    top_villages: list[VillageRow] = field(default_factory=list)
    due_soon_until: dt.date | None = None

    @property
    def coverage(self) -> tuple[float | None, float | None]:
        """Share of planned inspections done, this period and the previous (None if none planned)."""
        return (
            self.done.current / self.planned.current if self.planned.current else None,
            self.done.previous / self.planned.previous if self.planned.previous else None,
        )

    @property
    def is_empty(self) -> bool:
        """Nothing happened in the period and nothing waits for anyone: no email by default."""
        return not (
            self.planned.current
            or self.done.current
            or self.new_cases.current
            or self.closed_cases.current
            or self.overdue.current
            or self.due_soon.current
            or self.evidence_flags.current
            or self.overdue_replies.current
        )

    def summary(self) -> dict[str, Any]:
        """The headline figures, kept on the send record for the delivery log."""
        return {
            name: [getattr(self, name).current, getattr(self, name).previous]
            for name in (
                "planned",
                "done",
                "new_cases",
                "closed_cases",
                "open_cases",
                "overdue",
                "due_soon",
                "evidence_flags",
                "relapsed",
                "false_rectified",
            )
        }


def evidence_flags_awaiting_review(*, prefix: str, period: Period) -> Pair:
    """Photos with evidence flags not yet reviewed at the end of each period, in two or three queries.

    A photo counts at a moment when it was processed (its flags raised)
    before it, has flags, and had not been marked reviewed by then. Photos of
    inspections count only once the inspection was submitted before that
    moment (the embargo: a flagged photo must not announce a visit in
    progress); after-photos of cases always may, since cases exist only for
    submitted inspections. Scoped to ``prefix`` by the village's code.

    A flag that names another photo (a duplicate) counts only at a moment when
    that photo could be mentioned to the jurisdiction: a case's, or one of an
    inspection submitted before it (``inspections.evidence.flags``). So a photo
    whose only flag points to a visit still under way counts nothing, just as
    if that visit did not exist. One aggregate counts the photos with a flag of
    their own; the few whose flags all name other photos are then read, with
    the photos they name (the third query only when there are such photos).
    """
    end = period.end_at()
    start = period.start_at()

    def awaiting_at(moment: dt.datetime) -> Q:
        return (
            Q(processed_at__lt=moment)
            & (Q(flags_reviewed_at__isnull=True) | Q(flags_reviewed_at__gte=moment))
            & (Q(case__isnull=False) | Q(inspection__submitted_at__lt=moment))
        )

    inspections = Q(inspection__status=Inspection.Status.SUBMITTED)
    cases = Q(case__isnull=False)
    if prefix:
        inspections &= Q(inspection__village__code__startswith=prefix)
        cases &= Q(case__village__code__startswith=prefix)
    flagged = Photo.objects.filter(
        inspections | cases, status=Photo.Status.READY, processed_at__lt=end
    ).exclude(flags=[])
    figures = flagged.filter(has_own_flag()).aggregate(
        current=Count("id", filter=awaiting_at(end)),
        previous=Count("id", filter=awaiting_at(start)),
    )
    current, previous = figures["current"], figures["previous"]

    naming_only = list(
        flagged.exclude(has_own_flag())
        .filter(awaiting_at(end) | awaiting_at(start))
        .values_list("flags", "processed_at", "flags_reviewed_at", "case_id", "inspection__submitted_at")
    )
    if not naming_only:
        return Pair(current, previous)
    named: dict[str, tuple[bool, dt.datetime | None]] = {}
    wanted = {key for row in naming_only for key in flags_naming(row[0])}
    for client_uuid, case_id, status, submitted_at in Photo.objects.filter(
        client_uuid__in=wanted
    ).values_list("client_uuid", "case_id", "inspection__status", "inspection__submitted_at"):
        named[str(client_uuid)] = (
            case_id is not None,
            submitted_at if status == Inspection.Status.SUBMITTED else None,
        )

    def counts_at(row: tuple[Any, ...], moment: dt.datetime) -> bool:
        flags, processed_at, reviewed_at, case_id, submitted_at = row
        if not (processed_at < moment and (reviewed_at is None or reviewed_at >= moment)):
            return False
        if case_id is None and not (submitted_at is not None and submitted_at < moment):
            return False
        for key in flags_naming(flags):
            of_case, other_submitted = named.get(key, (False, None))
            if of_case or (other_submitted is not None and other_submitted < moment):
                return True
        return False

    current += sum(1 for row in naming_only if counts_at(row, end))
    previous += sum(1 for row in naming_only if counts_at(row, start))
    return Pair(current, previous)


# A confirmed problem: handed over (交办), not awaiting review, voided or merged.
CONFIRMED = ~Q(status__in=NOT_HANDED_OVER)


def _scoped(queryset: QuerySet[Any], prefix: str, path: str = "village__code") -> QuerySet[Any]:
    if prefix == "":
        return queryset
    return queryset.filter(**{f"{path}__startswith": prefix})


def _open_at(moment: dt.datetime) -> Q:
    return Q(opened_at__lt=moment) & (Q(closed_at__isnull=True) | Q(closed_at__gte=moment))


def _owing_at(moment: dt.datetime) -> Q:
    """Owed a rectification at ``moment``, as far as the current records tell."""
    return _open_at(moment) & (
        Q(status__in=RECTIFICATION_DUE) | Q(status=CaseStatus.CLOSED, closed_at__gte=moment)
    )


def _overdue_at(moment: dt.datetime) -> Q:
    """Overdue at ``moment``: the cases' own rule, plus what it cannot see from today's statuses.

    :func:`~inspections.cases.models.overdue_condition` is the rule for a case
    as it stands (owing a rectification, past its deadline). A digest of a
    past period also counts a case that was overdue *then* and has been
    closed since: its status no longer says it owed anything, so the closed
    branch is added here, and both are limited to cases open at ``moment``.
    """
    day = local_date(moment)
    closed_since = Q(status=CaseStatus.CLOSED, closed_at__gte=moment, deadline__lt=day)
    return _open_at(moment) & (overdue_condition(day) | closed_since)


def _due_soon_at(moment: dt.datetime, until: dt.date) -> Q:
    return _owing_at(moment) & Q(deadline__gte=local_date(moment), deadline__lte=until)


CASE_ROW_FIELDS = (
    "id",
    "village__code",
    "village__name",
    "category__name_zh_hans",
    "category__name_en",
    "category__domain",
    "severity",
    "status",
    "opened_at",
    "deadline",
    "escalation_level",
)


def _case_rows(queryset: QuerySet[Case], *, day: dt.date) -> list[CaseRow]:
    """Rows straight from the values (no model instances: the overdue list may hold thousands)."""
    english = (get_language() or "").startswith("en")
    domains = {d.value: str(d.label) for d in Domain}
    severities = {s.value: str(s.label) for s in Severity}
    statuses = {s.value: str(s.label) for s in CaseStatus}
    rows = []
    for (
        pk,
        code,
        village,
        name_zh,
        name_en,
        domain,
        severity,
        status,
        opened,
        deadline,
        level,
    ) in queryset.values_list(*CASE_ROW_FIELDS):
        rows.append(
            CaseRow(
                id=pk,
                village_code=code,
                village_name=village,
                category=name_en if english else name_zh,
                domain=domains.get(domain, domain),
                severity=severities.get(severity, severity),
                status=statuses.get(status, status),
                opened_on=local_date(opened),
                deadline=deadline,
                days_overdue=max((day - deadline).days, 0),
                days_left=max((deadline - day).days, 0),
                escalation_level=level,
            )
        )
    return rows


def digest_prefix(recipient: User) -> str | None:
    """The code prefix a recipient's digest covers: their jurisdiction's subtree.

    A superuser's digest covers their jurisdiction too (not the whole country):
    the digest is the summary *of a jurisdiction*. ``None`` without one.
    """
    if recipient.jurisdiction is None:
        return None
    return recipient.jurisdiction.code


def digest_build(
    *,
    prefix: str,
    period: Period,
    language: str | None = None,
    now: dt.datetime | None = None,
    overdue_limit: int | None = None,
    list_rows: int = LIST_ROWS,
) -> Digest:
    """The figures of ``prefix`` for ``period``, with names in ``language`` (default: the active one)."""
    with translation.override(language or get_language()):
        return _build(
            prefix=prefix,
            period=period,
            now=now or timezone.now(),
            overdue_limit=settings.QINGSHAN_DIGEST_CSV_MAX_ROWS if overdue_limit is None else overdue_limit,
            list_rows=list_rows,
        )


def _build(*, prefix: str, period: Period, now: dt.datetime, overdue_limit: int, list_rows: int) -> Digest:
    """The figures of the jurisdiction ``prefix`` for ``period`` against the previous period.

    Queries (constant, whatever the data):

    1-2. the holiday calendar (administrator's years, and their dates if any was entered);
    3. inspections: planned and done, this period and the previous (one aggregate);
    4. new and closed cases by category and severity, both periods (one grouped aggregate);
    5. open, overdue, due soon, escalated, relapsed, falsely rectified: state at both period ends
       (one aggregate);
    6. the overdue list (up to ``overdue_limit`` rows, for the CSV and the body);
    7. the due-soon list (``list_rows`` rows);
    8. villages with the most open cases (one grouped aggregate);
    9-11. evidence flags awaiting review at both period ends;
    then complaints whose reply to the complainant is overdue, at both ends (one aggregate).
    """
    previous = period.previous
    start, end = period.start_at(), period.end_at()
    prev_start = previous.start_at()
    today, prev_today = period.end, previous.end

    # 1-2: the calendar decides "within five working days".
    calendar = WorkingCalendar.load()
    due_until = add_working_days(today, DUE_SOON_WORKING_DAYS, calendar=calendar).date
    prev_due_until = add_working_days(prev_today, DUE_SOON_WORKING_DAYS, calendar=calendar).date

    # 3: coverage. Windows count only once closed, and never past ``now``.
    cutoff = min(end, now)
    prev_cutoff = min(start, now)
    closed_window = Q(window_end__gte=start, window_end__lt=cutoff)
    prev_closed_window = Q(window_end__gte=prev_start, window_end__lt=prev_cutoff)
    submitted = Q(status=Inspection.Status.SUBMITTED)
    visits = (
        _scoped(Inspection.objects.all(), prefix)
        .filter(window_end__gte=prev_start, window_end__lt=cutoff)
        .exclude(status=Inspection.Status.CANCELLED)
        .aggregate(
            planned=Count("id", filter=closed_window),
            done=Count("id", filter=closed_window & submitted & Q(submitted_at__lt=cutoff)),
            planned_prev=Count("id", filter=prev_closed_window),
            done_prev=Count("id", filter=prev_closed_window & submitted & Q(submitted_at__lt=prev_cutoff)),
        )
    )

    # 4: flows by category and severity.
    opened_now = Q(opened_at__gte=start, opened_at__lt=end)
    opened_before = Q(opened_at__gte=prev_start, opened_at__lt=start)
    closed_now = Q(closed_at__gte=start, closed_at__lt=end)
    closed_before = Q(closed_at__gte=prev_start, closed_at__lt=start)
    flows = list(
        _scoped(Case.objects.filter(CONFIRMED), prefix)
        .filter(
            Q(opened_at__gte=prev_start, opened_at__lt=end) | Q(closed_at__gte=prev_start, closed_at__lt=end)
        )
        .values("category_id", "category__name_zh_hans", "category__name_en", "category__domain", "severity")
        .annotate(
            new=Count("id", filter=opened_now),
            new_prev=Count("id", filter=opened_before),
            closed=Count("id", filter=closed_now),
            closed_prev=Count("id", filter=closed_before),
        )
        .order_by()
    )

    # 5: the state at both ends.
    # Only confirmed problems count; those awaiting review are counted apart, in the same query.
    state = (
        _scoped(Case.objects.all(), prefix)
        .filter(
            _open_at(prev_start)
            | _open_at(end)
            | Q(opened_at__gte=prev_start, opened_at__lt=end)
            | Q(status=CaseStatus.AWAITING_REVIEW)
        )
        .aggregate(
            open=Count("id", filter=_open_at(end) & CONFIRMED),
            open_prev=Count("id", filter=_open_at(start) & CONFIRMED),
            overdue=Count("id", filter=_overdue_at(end) & CONFIRMED),
            overdue_prev=Count("id", filter=_overdue_at(start) & CONFIRMED),
            due_soon=Count("id", filter=_due_soon_at(end, due_until) & CONFIRMED),
            due_soon_prev=Count("id", filter=_due_soon_at(start, prev_due_until) & CONFIRMED),
            escalated=Count("id", filter=_overdue_at(end) & Q(escalation_level__gt=0) & CONFIRMED),
            awaiting_review=Count("id", filter=Q(status=CaseStatus.AWAITING_REVIEW, opened_at__lt=end)),
            relapsed=Count("id", filter=_open_at(end) & CONFIRMED & Q(is_relapse=True)),
            relapsed_prev=Count("id", filter=_open_at(start) & CONFIRMED & Q(is_relapse=True)),
            false_rectified=Count("id", filter=_open_at(end) & CONFIRMED & Q(is_false_rectification=True)),
            false_rectified_prev=Count(
                "id", filter=_open_at(start) & CONFIRMED & Q(is_false_rectification=True)
            ),
        )
    )

    # 6-7: the lists.
    rows_base = _scoped(Case.objects.filter(CONFIRMED), prefix)
    overdue_rows = _case_rows(
        rows_base.filter(_overdue_at(end)).order_by("deadline", "id")[:overdue_limit], day=today
    )
    due_soon_rows = _case_rows(
        rows_base.filter(_due_soon_at(end, due_until)).order_by("deadline", "id")[:list_rows], day=today
    )

    # 8: villages with the most open cases.
    villages = list(
        _scoped(Case.objects.filter(CONFIRMED), prefix)
        .filter(_open_at(start) | _open_at(end))
        .values("village__code", "village__name")
        .annotate(open=Count("id", filter=_open_at(end)), open_prev=Count("id", filter=_open_at(start)))
        .filter(open__gt=0)
        .order_by("-open", "village__code")[:TOP_VILLAGES]
    )

    # 9, 10 (and 11): evidence flags awaiting review at both period ends.
    flagged = evidence_flags_awaiting_review(prefix=prefix, period=period)

    # Last: complaints whose reply is overdue at both period ends (one aggregate).
    replies = complaints_within(prefix).aggregate(
        now=Count(
            "id", filter=Q(reply_due__lt=today) & (Q(replied_at__isnull=True) | Q(replied_at__gte=end))
        ),
        prev=Count(
            "id", filter=Q(reply_due__lt=prev_today) & (Q(replied_at__isnull=True) | Q(replied_at__gte=start))
        ),
    )

    digest = Digest(
        prefix=prefix,
        period=period,
        built_at=now,
        planned=Pair(visits["planned"], visits["planned_prev"]),
        done=Pair(visits["done"], visits["done_prev"]),
        new_cases=Pair(sum(r["new"] for r in flows), sum(r["new_prev"] for r in flows)),
        closed_cases=Pair(sum(r["closed"] for r in flows), sum(r["closed_prev"] for r in flows)),
        open_cases=Pair(state["open"], state["open_prev"]),
        overdue=Pair(state["overdue"], state["overdue_prev"]),
        due_soon=Pair(state["due_soon"], state["due_soon_prev"]),
        escalated_overdue=state["escalated"],
        awaiting_review=state["awaiting_review"],
        relapsed=Pair(state["relapsed"], state["relapsed_prev"]),
        false_rectified=Pair(state["false_rectified"], state["false_rectified_prev"]),
        overdue_replies=Pair(replies["now"], replies["prev"]),
        evidence_flags=flagged,
        overdue_rows=overdue_rows,
        due_soon_rows=due_soon_rows,
        top_villages=[
            VillageRow(code=v["village__code"], name=v["village__name"], open=Pair(v["open"], v["open_prev"]))
            for v in villages
        ],
        due_soon_until=due_until,
    )
    _breakdowns(digest, flows)
    return digest


def _breakdowns(digest: Digest, flows: list[dict[str, Any]]) -> None:
    """Group the flow rows by domain, category and severity (in Python: no query)."""
    english = (get_language() or "").startswith("en")
    by: dict[str, dict[str, list[int]]] = {"domain": {}, "category": {}, "severity": {}}
    names: dict[str, tuple[str, str]] = {}
    for row in flows:
        category_key = str(row["category_id"])
        name = row["category__name_en"] if english else row["category__name_zh_hans"]
        names[category_key] = (name, row["category__domain"])
        keys = (
            ("domain", row["category__domain"]),
            ("category", category_key),
            ("severity", row["severity"]),
        )
        for axis, key in keys:
            totals = by[axis].setdefault(key, [0, 0, 0, 0])
            totals[0] += row["new"]
            totals[1] += row["new_prev"]
            totals[2] += row["closed"]
            totals[3] += row["closed_prev"]

    def make(key: str, label: str, totals: list[int], domain: str = "") -> Breakdown:
        return Breakdown(
            key=key,
            label=label,
            new=Pair(totals[0], totals[1]),
            closed=Pair(totals[2], totals[3]),
            domain=domain,
        )

    digest.by_domain = [
        make(d.value, str(d.label), by["domain"][d.value]) for d in Domain if d.value in by["domain"]
    ]
    digest.by_severity = [
        make(s.value, str(s.label), by["severity"][s.value]) for s in Severity if s.value in by["severity"]
    ]
    rows = [
        make(key, names[key][0], totals, str(Domain(names[key][1]).label))
        for key, totals in by["category"].items()
    ]
    digest.by_category = sorted(rows, key=lambda b: (-b.new.current, -b.closed.current, b.label))
