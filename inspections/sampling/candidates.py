"""A plan's candidates and their risk weights, as a commit freezes them.

A candidate is an active village of the plan's scope, not of an excluded
class (residents' committees by default), of one of the plan's urban-rural
classes when it names some and the village's is known, and not inspected (a
submitted inspection) within the plan's exclusion period. Its weight is::

    base + per_open_case × open cases + per_overdue_case × overdue cases
         + staleness × min(days since the last inspection, cap) / cap
         + per_unvisited × (1 if not visited in the commit's year, else 0)

with open and overdue counted in the cases' own terms (``overdue_condition``)
on the day in China of the commit, and "visited" a submitted inspection in the
commit's calendar year in China.

A candidate is **key** (重点村) when it is on the jurisdiction's list of key
villages (:class:`~inspections.sampling.models.KeyVillage`: a listed black and
odorous water body, or named by the supervisor), has a problem that is not
closed (open, under rectification, reopened after a relapse…), or is named by
the plan; a plan with a key rate draws the key candidates at that rate.

Only submitted inspections count, never one still ahead of its visit or under
way (the embargo, 四不两直): the candidate list and its counts are shown to the
plan's organisers and, once the draw is published, to everyone, while another
organiser's visits may still be pending. A village with a visit still to come
is therefore a candidate like any other, and whether some plan already sends a
team there changes nothing anyone can read here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from inspections.cases.models import Case, CaseStatus, overdue_condition
from inspections.common.china_time import day_start, local_date
from inspections.common.db_functions import MICROSECONDS_A_DAY, EpochMicroseconds, epoch_microseconds
from inspections.fieldwork.models import Inspection
from inspections.sampling.draw import WEIGHT_QUANTUM
from inspections.sampling.models import KeyVillage, SamplingPlan
from villages.models import Village

# An inspection still ahead of its visit or under way: its reassignment is possible and
# its draw cannot be published. (It never leaves its village out of another plan's
# candidates: see the module's docstring.)
OPEN_STATUSES = (Inspection.Status.SCHEDULED, Inspection.Status.IN_PROGRESS)


# Why a candidate is key, in the frozen parameters' counts.
KEY_REASONS = ("black_odorous_water", "listed", "open_problems", "named")


@dataclass
class CandidateSet:
    rows: list[tuple[str, Decimal]]
    excluded: dict[str, int] = field(default_factory=dict)
    # Candidates whose weight the cases raise: with an open case, with an overdue one.
    with_open_cases: int = 0
    with_overdue_cases: int = 0
    # The key candidates (sorted codes) and how many are key for each reason (one may have several).
    key_codes: list[str] = field(default_factory=list)
    key_reasons: dict[str, int] = field(default_factory=dict)
    # The China year whose visits count as coverage.
    year: int = 0


def candidate_weight(
    plan: SamplingPlan,
    *,
    open_cases: int,
    overdue_cases: int,
    days_since: int | None,
    visited_this_year: bool = False,
) -> Decimal:
    """w = base + per_open × open + per_overdue × overdue + staleness × min(days, cap) / cap
    + per_unvisited × (not visited this year).

    Never inspected counts as the cap. An overdue case is also an open case, so it adds both.
    """
    cap = int(plan.staleness_cap_days)
    days = cap if days_since is None else min(days_since, cap)
    # str(): an unsaved plan may still hold the float or str it was built with.
    base, per_open, per_overdue, staleness, per_unvisited = (
        Decimal(str(v))
        for v in (
            plan.base_weight,
            plan.open_cases_weight,
            plan.overdue_cases_weight,
            plan.staleness_weight,
            plan.unvisited_weight,
        )
    )
    weight = base + per_open * open_cases + per_overdue * overdue_cases + staleness * Decimal(days) / cap
    if not visited_this_year:
        weight += per_unvisited
    return weight.quantize(WEIGHT_QUANTUM)


def key_listed(*, prefix: str) -> dict[int, set[str]]:
    """The jurisdiction's listed key villages under ``prefix``: village id → reasons (one query)."""
    listed: dict[int, set[str]] = {}
    for village_id, reason in KeyVillage.objects.filter(village__code__startswith=prefix).values_list(
        "village_id", "reason"
    ):
        listed.setdefault(village_id, set()).add(
            "black_odorous_water" if reason == KeyVillage.Reason.BLACK_ODOROUS_WATER else "listed"
        )
    return listed


def village_case_counts(*, prefix: str, today: dt.date) -> dict[int, tuple[int, int]]:
    """Open and overdue cases per village id under ``prefix`` on ``today`` (China): one query.

    Villages with no open case are left out. A read of the cases area, kept
    here until ``cases.selectors`` offers it. By the village code each case holds
    (kept by the database): no join to the villages.
    """
    return {
        village_id: (open_cases, overdue_cases)
        for village_id, open_cases, overdue_cases in Case.objects.filter(village_code__startswith=prefix)
        .exclude(status__in=[CaseStatus.CLOSED, CaseStatus.VOIDED, CaseStatus.MERGED])
        .values("village_id")
        .annotate(open=Count("id"), overdue=Count("id", filter=overdue_condition(today)))
        .values_list("village_id", "open", "overdue")
    }


def sampling_plan_candidates(*, plan: SamplingPlan, now: datetime | None = None) -> CandidateSet:
    """The plan's candidates, weights and key set, as a commit freezes them (2 queries, 3 with a key rate)."""
    now = now or timezone.now()
    prefix = plan.scope_code
    excluded_kinds = set(plan.excluded_kinds or [])
    classes = set(plan.urban_rural_classes or [])
    recent_cutoff = now - timedelta(days=plan.exclude_inspected_days) if plan.exclude_inspected_days else None
    year = local_date(now).year
    year_start = day_start(dt.date(year, 1, 1))
    with_key = plan.key_rate is not None
    named = {c.strip() for c in plan.key_village_codes or [] if str(c).strip()} if with_key else set()
    listed = key_listed(prefix=prefix) if with_key else {}
    key_codes: list[str] = []
    key_reasons = dict.fromkeys(KEY_REASONS, 0) if with_key else {}

    def is_key(village_id: int, code: str, open_cases: int) -> None:
        reasons = set(listed.get(village_id, ()))
        if open_cases:
            reasons.add("open_problems")
        if code in named:
            reasons.add("named")
        if reasons:
            key_codes.append(code)
            for reason in reasons:
                key_reasons[reason] += 1

    cases = village_case_counts(prefix=prefix, today=local_date(now))
    # Most villages were never inspected: they share one weight.
    untouched = candidate_weight(plan, open_cases=0, overdue_cases=0, days_since=None)
    weights: dict[tuple[int, int, int, bool], Decimal] = {}
    cap = int(plan.staleness_cap_days)
    rows: list[tuple[str, Decimal]] = []
    excluded = {"class": 0, "recently_inspected": 0}
    if classes:
        excluded["urban_rural_class"] = 0
    if plan.exclude_visited_this_year:
        excluded["visited_this_year"] = 0
    with_open = with_overdue = 0
    # Times as microseconds since the epoch (exact integers, read far faster than timestamps).
    now_us = epoch_microseconds(now)
    recent_us = epoch_microseconds(recent_cutoff) if recent_cutoff is not None else None
    year_start_us = epoch_microseconds(year_start)
    # Submitted inspections only: each village's last visit, from the index of submitted visits.
    last_visit = (
        Inspection.objects.filter(
            village_id=OuterRef("pk"), status=Inspection.Status.SUBMITTED, submitted_at__isnull=False
        )
        .order_by("-submitted_at")
        .values("submitted_at")[:1]
    )
    villages = (
        Village.objects.within(prefix)
        .filter(is_active=True)
        .annotate(last_us=EpochMicroseconds(Subquery(last_visit)))
        .values_list("id", "code", "kind", "urban_rural_class", "last_us")
        .order_by("code")
    )
    # The whole country's 620,000 villages are streamed (a server-side cursor: a fifth slower, half
    # the memory); a province's 60,000 or fewer are read at once.
    rows_read = villages.iterator(chunk_size=20_000) if len(prefix) < 2 else villages
    for village_id, code, kind, urban_rural, last in rows_read:
        if kind in excluded_kinds:
            excluded["class"] += 1
            continue
        if classes and urban_rural and urban_rural not in classes:
            excluded["urban_rural_class"] += 1
            continue
        if last is None:
            rows.append((code, untouched))  # cases come only from submitted inspections
            if with_key:
                is_key(village_id, code, 0)
            continue
        if recent_us is not None and last >= recent_us:
            excluded["recently_inspected"] += 1
            continue
        visited_this_year = last >= year_start_us
        if visited_this_year and plan.exclude_visited_this_year:
            excluded["visited_this_year"] += 1
            continue
        days_since = max((now_us - last) // MICROSECONDS_A_DAY, 0)  # as timedelta.days
        open_cases, overdue_cases = cases.get(village_id, (0, 0))
        with_open += open_cases > 0
        with_overdue += overdue_cases > 0
        # A province's 60,000 villages have a few thousand distinct weights: each computed once.
        facts = (open_cases, overdue_cases, min(days_since, cap), visited_this_year)
        weight = weights.get(facts)
        if weight is None:
            weight = weights[facts] = candidate_weight(
                plan,
                open_cases=open_cases,
                overdue_cases=overdue_cases,
                days_since=facts[2],
                visited_this_year=visited_this_year,
            )
        rows.append((code, weight))
        if with_key:
            is_key(village_id, code, open_cases)
    return CandidateSet(
        rows,
        excluded,
        with_open_cases=with_open,
        with_overdue_cases=with_overdue,
        key_codes=sorted(key_codes),
        key_reasons=key_reasons,
        year=year,
    )
