"""Sampling plans: preview, commit, beacon, draw, reassignment, publication of the draw.

Each public function is a transaction boundary and refuses bad states with a
:mod:`inspections.sampling.errors` refusal carrying a stable code. The
candidates and their weights are :mod:`inspections.sampling.candidates`; the
draw itself is :mod:`inspections.sampling.draw`, a pure function of the frozen
inputs, so ``verify_draw`` (:mod:`inspections.sampling.verification`) re-runs
exactly the same code.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from config.bulk import insert_rows
from inspections.accounts.models import Inspector, InspectorConflict, User
from inspections.common.errors import NotFound
from inspections.fieldwork.models import Inspection
from inspections.sampling import draw as sampling_draw
from inspections.sampling.candidates import OPEN_STATUSES, CandidateSet, sampling_plan_candidates
from inspections.sampling.draw import (
    RECUSAL_RULE,
    DrawParameters,
    RosterEntry,
    StratumStaffing,
    UnstaffableError,
)
from inspections.sampling.errors import (
    AlreadyCommitted,
    AlreadyDrawn,
    BeaconAlreadyEntered,
    BeaconEmpty,
    DrawCanBeDrawn,
    DrawVoided,
    EmbargoActive,
    InspectionClosed,
    InvalidTeam,
    MinimumExceedsSample,
    NoCandidates,
    NotCommitted,
    NotDrawn,
    ReasonRequired,
    SampleExceedsCandidates,
    SamplingError,
    TeamTooSmall,
    Understaffed,
    Unstaffable,
    WindowInPast,
)
from inspections.sampling.models import (
    Assignment,
    Cancellation,
    Draw,
    DrawInputs,
    EmbargoAccessLog,
    Reassignment,
    SamplingPlan,
)
from inspections.sampling.selectors import stratum_names
from villages.models import Village

# --- Preview -------------------------------------------------------------------------


@dataclass(frozen=True)
class StratumPreview:
    code: str
    name: str
    candidates: int
    sample: int


@dataclass(frozen=True)
class PlanPreview:
    candidate_count: int
    sample_size: int
    excluded: dict[str, int]
    strata: list[StratumPreview]
    problem: str | None
    with_open_cases: int = 0
    with_overdue_cases: int = 0
    # Per stratum: team places needed against the roster that may go after recusal.
    staffing: list[StratumStaffing] = dataclass_field(default_factory=list)
    slots: int = 0
    roster_capacity: int = 0
    # Key candidates by reason (one may have several); empty without a key rate.
    key_reasons: dict[str, int] = dataclass_field(default_factory=dict)


def _sample_size(plan: SamplingPlan, candidates: int) -> int:
    if plan.sample_size is not None:
        return plan.sample_size
    assert plan.sample_rate is not None  # the plan_size_or_rate constraint
    return sampling_draw.sample_size_for(rate=plan.sample_rate, candidates=candidates)


def _strata_sizes(codes: Sequence[str], length: int) -> dict[str, int]:
    return {s: end - start for s, start, end in sampling_draw.strata_bounds(list(codes), length)}


@dataclass(frozen=True)
class _Split:
    """A plan's candidates cut into the key stratum and the rest, with each one's sample."""

    rest: list[str]
    key: list[str]
    rest_size: int
    key_size: int


def _split(plan: SamplingPlan, candidate_set: CandidateSet) -> _Split:
    """Key villages at the plan's key rate (rounded up), the rest at its size or rate."""
    codes = sorted(code for code, _w in candidate_set.rows)
    if plan.key_rate is None:
        return _Split(codes, [], _sample_size(plan, len(codes)), 0)
    key = set(candidate_set.key_codes)
    rest = [c for c in codes if c not in key]
    key_codes = sorted(key)
    key_size = sampling_draw.sample_size_for(rate=Decimal(str(plan.key_rate)), candidates=len(key_codes))
    return _Split(rest, key_codes, _sample_size(plan, len(rest)), key_size)


def sampling_plan_preview(*, plan: SamplingPlan, now: datetime | None = None) -> PlanPreview:
    """Candidate count and expected sample per stratum (the key stratum last), without committing."""
    candidate_set = sampling_plan_candidates(plan=plan, now=now)
    split = _split(plan, candidate_set)
    sizes = _strata_sizes(split.rest, plan.stratum_level)
    problem = None
    rows: list[StratumStaffing] = []
    total = (0, 0)
    allocation = {s: 0 for s in sizes}
    try:
        _check_sample(plan, sizes, split.rest_size, key=len(split.key))
        allocation = sampling_draw.allocate(sizes, split.rest_size, plan.min_per_stratum)
        rows, total = _staffing(plan, split, allocation)
        _check_staffing(plan, rows, total)
    except SamplingError as refusal:
        problem = refusal.detail
    names = stratum_names(plan=plan, strata=[*sizes, sampling_draw.KEY_STRATUM])
    strata = [StratumPreview(s, names[s], n, allocation[s]) for s, n in sizes.items()]
    if plan.key_rate is not None:
        key = sampling_draw.KEY_STRATUM
        strata.append(StratumPreview(key, names[key], len(split.key), split.key_size))
    return PlanPreview(
        len(split.rest) + len(split.key),
        split.rest_size + split.key_size,
        candidate_set.excluded,
        strata,
        problem,
        with_open_cases=candidate_set.with_open_cases,
        with_overdue_cases=candidate_set.with_overdue_cases,
        staffing=rows,
        slots=total[0],
        roster_capacity=total[1],
        key_reasons=candidate_set.key_reasons,
    )


def _staffing(
    plan: SamplingPlan, split: _Split, allocation: dict[str, int]
) -> tuple[list[StratumStaffing], tuple[int, int]]:
    """Each stratum's team places against the roster after recusal, and the plan's totals.

    The key stratum is one stratum over all the key villages, named ``key``.
    """
    entries, _previous = _roster(plan, set())
    roster = sampling_draw.Roster(entries)
    common = {
        "team_size": plan.team_size,
        "pool_length": plan.team_pool,
        "recusal_rule": RECUSAL_RULE,
        "home_length": plan.recusal_level,
    }
    rows = sampling_draw.staffing(split.rest, allocation, roster, stratum_length=plan.stratum_level, **common)
    if split.key:
        (key_row,) = sampling_draw.staffing(
            split.key, {"": split.key_size}, roster, stratum_length=0, **common
        )
        rows.append(replace(key_row, stratum=sampling_draw.KEY_STRATUM))
    return rows, sampling_draw.staffing_total(roster, rows)


def _check_staffing(plan: SamplingPlan, rows: list[StratumStaffing], total: tuple[int, int]) -> None:
    """Refuse a plan some stratum of which (or the whole of which) the roster cannot staff."""
    short = [r for r in rows if r.shortfall]
    over = total if total[0] > total[1] else None
    if short or over:
        names = stratum_names(plan=plan, strata=[r.stratum for r in short])
        raise Understaffed.of(short, names=names, total=over)


# --- Commit --------------------------------------------------------------------------


def _check_plan(plan: SamplingPlan, now: datetime) -> None:
    if plan.team_size < 2:
        raise TeamTooSmall
    if plan.window_start <= now:
        raise WindowInPast


def _check_sample(plan: SamplingPlan, sizes: dict[str, int], size: int, *, key: int = 0) -> None:
    """The sample of the candidates outside the key stratum (``key``: how many are key)."""
    total = sum(sizes.values())
    if total + key == 0:
        raise NoCandidates
    if size > total:
        raise SampleExceedsCandidates.of(size=size, total=total)
    needed = sum(min(plan.min_per_stratum, n) for n in sizes.values())
    if needed > size:
        raise MinimumExceedsSample.of(needed=needed, size=size)


def _pool_prefix(plan: SamplingPlan) -> str:
    """Only inspectors who can be in some village's pool enter the roster."""
    return plan.scope_code[: plan.team_pool] if plan.team_pool else ""


def _roster(plan: SamplingPlan, candidate_codes: set[str]) -> tuple[list[RosterEntry], dict[str, list[str]]]:
    """Active inspectors with their capacity, and each candidate's previous team.

    Both from what no longer is embargoed: the capacity is the inspector's own
    (visits per window), not reduced by other visits in the window, and the
    previous team is the team of the village's latest *submitted* inspection.
    The roster is shown to the plan's organisers and, with the draw, to the
    public, while another organiser's visits may still be pending: a capacity
    lowered by them, or a team taken from them, would tell of visits its
    readers may not know about.
    """
    return roster_entries(pool_prefix=_pool_prefix(plan), scope_code=plan.scope_code, codes=candidate_codes)


def roster_entries(
    *, pool_prefix: str, scope_code: str, codes: set[str]
) -> tuple[list[RosterEntry], dict[str, list[str]]]:
    """Active inspectors whose home starts with ``pool_prefix``, and the previous teams of ``codes``."""
    inspectors = (
        Inspector.objects.filter(is_active=True, user__is_active=True, capacity__gt=0)
        .filter(home_division__code__startswith=pool_prefix)
        .values_list("id", "credential_number", "home_division__code", "home_county__code", "capacity")
    )
    rows = list(inspectors)
    conflicts = conflict_prefixes([row[0] for row in rows])
    entries = [
        RosterEntry(
            credential=credential,
            home=home,
            capacity=capacity,
            home_county=_home_county(home, county),
            conflicts=tuple(sorted(conflicts.get(inspector_id, ()))),
        )
        for inspector_id, credential, home, county, capacity in rows
    ]
    return entries, _previous_teams(scope_code, codes) if codes else {}


def _home_county(home: str, county: str | None) -> str:
    """The 6-digit county recused as home (see :meth:`Inspector.recusal_county_code`)."""
    if county:
        return county[:6]
    return home[:6] if len(home) >= 6 else ""


def conflict_prefixes(inspector_ids: list[int]) -> dict[int, set[str]]:
    """Each inspector's declared conflicts as code prefixes (one query per 5,000 inspectors)."""
    prefixes: dict[int, set[str]] = {}
    for start in range(0, len(inspector_ids), 5_000):
        rows = InspectorConflict.objects.filter(
            inspector_id__in=inspector_ids[start : start + 5_000]
        ).values_list("inspector_id", "village__code", "division__code")
        for inspector_id, village_code, division_code in rows:
            prefixes.setdefault(inspector_id, set()).add(village_code or division_code)
    return prefixes


def _previous_teams(scope_code: str, codes: set[str]) -> dict[str, list[str]]:
    """The team of each village's latest submitted inspection (by window start, then id)."""
    latest: dict[str, tuple[datetime, int]] = {}
    members: dict[int, list[str]] = {}
    team_rows = Inspection.team.through.objects.filter(
        inspection__village__code__startswith=scope_code,
        inspection__status=Inspection.Status.SUBMITTED,
    ).values_list(
        "inspection_id",
        "inspection__village__code",
        "inspection__window_start",
        "inspector__credential_number",
    )
    for inspection_id, code, start, credential in team_rows:
        if code not in codes:
            continue
        members.setdefault(inspection_id, []).append(credential)
        if code not in latest or (start, inspection_id) > latest[code]:
            latest[code] = (start, inspection_id)
    return {code: sorted(members[inspection_id]) for code, (_s, inspection_id) in latest.items()}


def _key_parameters(plan: SamplingPlan, split: _Split, candidate_set: CandidateSet) -> dict[str, Any] | None:
    """The key stratum as frozen: its rule, rate, sample and every key code (None: no key rate)."""
    if plan.key_rate is None:
        return None
    return {
        "rule": 1,
        "criteria": (
            "listed black and odorous water body, or on the jurisdiction's list of key villages;"
            " a problem not closed (open, rectifying, reopened...); or named by the plan"
        ),
        "rate": str(plan.key_rate),
        "sample_size": split.key_size,
        "named": sorted({str(c).strip() for c in plan.key_village_codes or [] if str(c).strip()}),
        "reasons": candidate_set.key_reasons,
        "codes": split.key,
    }


def _parameters(
    plan: SamplingPlan,
    *,
    sample_size: int,
    candidates: int,
    excluded: dict[str, int],
    key: dict[str, Any] | None = None,
    year: int = 0,
) -> dict[str, Any]:
    return {
        # 4: the key stratum and this year's coverage (3: recusal rule 2 and its roster;
        # 2: weights from open and overdue cases; 1: findings)
        "format": 4,
        "plan": plan.pk,
        "name": plan.name,
        "scope": plan.scope_code,
        "window_start": plan.window_start.isoformat(),
        "window_end": plan.window_end.isoformat(),
        "sample_size": sample_size,
        "sample_rate": None if plan.sample_rate is None else str(plan.sample_rate),
        "stratum_length": plan.stratum_level,
        "min_per_stratum": plan.min_per_stratum,
        "exclude_inspected_days": plan.exclude_inspected_days,
        "excluded_kinds": sorted(plan.excluded_kinds or []),
        "urban_rural_classes": sorted(plan.urban_rural_classes or []),
        "excluded_counts": excluded,
        "weights": {
            "formula": (
                "base + per_open_case * open_cases + per_overdue_case * overdue_cases"
                " + staleness * min(days_since_last, cap) / cap"
                " + per_unvisited_this_year * (0 if visited in coverage.year else 1)"
            ),
            "base": str(plan.base_weight),
            "per_open_case": str(plan.open_cases_weight),
            "per_overdue_case": str(plan.overdue_cases_weight),
            "staleness": str(plan.staleness_weight),
            "cap_days": plan.staleness_cap_days,
            "per_unvisited_this_year": str(plan.unvisited_weight),
        },
        # Coverage: a submitted inspection in this calendar year (China time) is a visit.
        "coverage": {"year": year, "exclude_visited": plan.exclude_visited_this_year},
        # The key stratum (重点村): null without a key rate; sample_size above is the rest's.
        "key": key,
        "team_size": plan.team_size,
        "team_pool_length": plan.team_pool,
        "recusal": {"rule": RECUSAL_RULE, "home_length": plan.recusal_level},
        "candidate_count": candidates,
    }


@transaction.atomic
def sampling_plan_commit(*, plan: SamplingPlan, user: User, now: datetime | None = None) -> Draw:
    """Freeze the candidates and roster, generate the secret seed and publish its SHA-256."""
    now = now or timezone.now()
    plan = SamplingPlan.objects.select_for_update(of=("self",)).select_related("scope").get(pk=plan.pk)
    if Draw.objects.filter(plan=plan).exists():
        raise AlreadyCommitted
    _check_plan(plan, now)
    candidate_set = sampling_plan_candidates(plan=plan, now=now)
    candidates_text = sampling_draw.candidates_serialise(candidate_set.rows)
    codes = [code for code, _w in sorted(candidate_set.rows)]
    split = _split(plan, candidate_set)
    sizes = _strata_sizes(split.rest, plan.stratum_level)
    _check_sample(plan, sizes, split.rest_size, key=len(split.key))
    _check_staffing(
        plan, *_staffing(plan, split, sampling_draw.allocate(sizes, split.rest_size, plan.min_per_stratum))
    )
    entries, previous = _roster(plan, set(codes))
    roster_text = sampling_draw.roster_serialise(entries, previous, rule=RECUSAL_RULE)
    seed = secrets.token_bytes(32)
    draw = Draw.objects.create(
        plan=plan,
        parameters=_parameters(
            plan,
            sample_size=split.rest_size,
            candidates=len(codes),
            excluded=candidate_set.excluded,
            key=_key_parameters(plan, split, candidate_set),
            year=candidate_set.year,
        ),
        candidates_sha256=sampling_draw.sha256_hex(candidates_text),
        candidate_count=len(codes),
        roster_sha256=sampling_draw.sha256_hex(roster_text),
        seed=seed.hex(),
        seed_commitment=hashlib.sha256(seed).hexdigest(),
        committed_at=now,
        committed_by=user,
    )
    DrawInputs.objects.create(draw=draw, candidates=candidates_text, roster=roster_text)
    return draw


def _locked_draw(plan: SamplingPlan) -> Draw:
    draw = Draw.objects.select_for_update(of=("self",)).select_related("plan").filter(plan_id=plan.pk).first()
    if draw is None:
        raise NotCommitted
    return draw


@transaction.atomic
def sampling_plan_enter_beacon(
    *, plan: SamplingPlan, user: User, value: str, source: str, now: datetime | None = None
) -> Draw:
    """Mix a public value, unknown at commit time, into the draw's seed."""
    now = now or timezone.now()
    draw = _locked_draw(plan)
    if draw.voided_at is not None:
        raise DrawVoided
    if draw.drawn_at is not None:
        raise AlreadyDrawn
    if draw.beacon:
        raise BeaconAlreadyEntered
    value = value.strip()
    if not value:
        raise BeaconEmpty
    draw.beacon = value
    draw.beacon_source = source.strip()
    draw.beacon_entered_at = now
    draw.save(update_fields=["beacon", "beacon_source", "beacon_entered_at"])
    return draw


# --- Draw ------------------------------------------------------------------------------


def _chunks(items: Sequence[str], size: int = 5_000) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_links(through: Any, column: str, rows: list[tuple[int, int]]) -> None:
    """Many-to-many rows in one ``executemany``: a national draw links thousands of
    inspections, and building a model instance per link costs more than the insert."""
    if not rows:
        return
    # Table and column names come from the models, never from input.
    table = connection.ops.quote_name(through._meta.db_table)
    columns = f"(inspection_id, {connection.ops.quote_name(column)})"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: two arrays unnested side by side.
            cursor.execute(
                f"INSERT INTO {table} {columns} SELECT * FROM unnest(%s::bigint[], %s::bigint[])",  # noqa: S608
                [[a for a, _b in rows], [b for _a, b in rows]],
            )
        else:
            cursor.executemany(f"INSERT INTO {table} {columns} VALUES (%s, %s)", rows)  # noqa: S608


def unstaffable_refusal(error: UnstaffableError) -> Unstaffable:
    """The refusal naming the villages that cannot be staffed, with their names (one query)."""
    codes = [v.code for v in error.villages]
    names = dict(Village.objects.filter(code__in=codes).values_list("code", "name"))
    return Unstaffable.of(error.villages, names=names)


@transaction.atomic
def sampling_plan_draw(*, plan: SamplingPlan, user: User, now: datetime | None = None) -> Draw:
    """Run the draw once: villages per stratum, their teams, one inspection each. All or nothing."""
    now = now or timezone.now()
    draw = _locked_draw(plan)
    if draw.voided_at is not None:
        raise DrawVoided
    if draw.drawn_at is not None:
        raise AlreadyDrawn
    if draw.plan.window_end <= now:
        raise WindowInPast.ended()
    candidates_text, roster_text = DrawInputs.objects.values_list("candidates", "roster").get(draw=draw)
    try:
        result = sampling_draw.draw_compute(
            seed=bytes.fromhex(draw.seed),
            beacon=draw.beacon,
            candidates_text=candidates_text,
            roster_text=roster_text,
            parameters=DrawParameters.from_frozen(draw.parameters),
            validate=False,  # serialised by the commit, immutable since; verify_draw validates
        )
    except UnstaffableError as error:
        raise unstaffable_refusal(error) from error

    codes = [v.code for v in result.villages]
    village_ids: dict[str, int] = {}
    for chunk in _chunks(codes):
        village_ids.update(Village.objects.filter(code__in=chunk).values_list("code", "id"))
    credentials = sorted({c for v in result.villages for c in v.team})
    inspector_ids: dict[str, int] = {}
    for chunk in _chunks(credentials):
        inspector_ids.update(
            Inspector.objects.filter(credential_number__in=chunk).values_list("credential_number", "id")
        )
    organiser_ids = list(draw.plan.organisers.values_list("id", flat=True))

    # Thousands of rows: plain values through one COPY (PostgreSQL) rather than
    # an instance and 9 prepared values per row through ``bulk_create``; the values
    # every row shares are prepared once.
    plan = draw.plan
    inspection_ids = insert_rows(
        Inspection,
        [{"village_id": village_ids[v.code]} for v in result.villages],
        common={
            "mode": Inspection.Mode.RANDOM.value,
            "window_start": plan.window_start,
            "window_end": plan.window_end,
        },
        return_ids=True,
    )
    _insert_links(
        Inspection.team.through,
        "inspector_id",
        [
            (inspection_id, inspector_ids[credential])
            for inspection_id, v in zip(inspection_ids, result.villages, strict=True)
            for credential in v.team
        ],
    )
    _insert_links(
        Inspection.organisers.through,
        "user_id",
        [(inspection_id, organiser_id) for inspection_id in inspection_ids for organiser_id in organiser_ids],
    )
    insert_rows(
        Assignment,
        [
            {
                "inspection_id": inspection_id,
                "stratum": v.stratum,
                "rank": v.rank,
                "drawn_team": list(v.team),
            }
            for inspection_id, v in zip(inspection_ids, result.villages, strict=True)
        ],
        common={"draw_id": draw.pk},
    )
    draw.result = result.as_dict()
    draw.result_sha256 = sampling_draw.sha256_hex(result.canonical())
    draw.drawn_at = now
    draw.drawn_by = user
    draw.save(update_fields=["result", "result_sha256", "drawn_at", "drawn_by"])
    return draw


# --- Voiding ------------------------------------------------------------------------------


def draw_failure(*, draw: Draw, now: datetime) -> str | None:
    """Why a committed, undrawn draw cannot be drawn (window ended, unstaffable), or None if it can."""
    if draw.plan.window_end <= now:
        return "window_ended"
    candidates_text, roster_text = DrawInputs.objects.values_list("candidates", "roster").get(draw=draw)
    try:
        sampling_draw.draw_compute(
            seed=bytes.fromhex(draw.seed),
            beacon=draw.beacon,
            candidates_text=candidates_text,
            roster_text=roster_text,
            parameters=DrawParameters.from_frozen(draw.parameters),
            validate=False,
        )
    except UnstaffableError:
        return "unstaffable"
    return None


@transaction.atomic
def draw_void(*, plan: SamplingPlan, user: User, reason: str, now: datetime | None = None) -> Draw:
    """Void a committed draw that cannot be drawn, with a written reason on its public record.

    Only a draw that has not run and cannot run (the seed, with the beacon if any,
    leaves some drawn village without a team; or the window has ended) can be voided:
    a draw that could run is never thrown away for a better one. Nothing was drawn,
    so its seed becomes public with the record and anyone can re-run the failure.
    A new plan takes its place.
    """
    now = now or timezone.now()
    draw = _locked_draw(plan)
    if not _is_organiser(user, draw.plan):
        raise NotFound(_("No such plan."))
    if draw.voided_at is not None:
        raise DrawVoided
    reason = reason.strip()
    if len(reason) < 5:
        raise ReasonRequired(_("Voiding a draw needs a written reason."))
    if draw.drawn_at is not None or draw_failure(draw=draw, now=now) is None:
        raise DrawCanBeDrawn
    draw.voided_at = now
    draw.voided_by = user
    draw.void_reason = reason
    draw.save(update_fields=["voided_at", "voided_by", "void_reason"])
    return draw


# --- Reassignment ------------------------------------------------------------------------


def _is_organiser(user: User, plan: SamplingPlan) -> bool:
    return user.is_superuser or plan.organisers.filter(pk=user.pk).exists()


@dataclass(frozen=True)
class ReassignmentCheck:
    """Whether one inspector may join a drawn visit's team, as :func:`assignment_reassign` judges it.

    ``load``: the other visits of this draw the inspector is on (cancelled ones aside);
    ``capacity``: theirs as frozen in the draw's roster (None: not on it, so no frozen
    capacity to exceed); ``recusal``: ``inactive``, ``home`` (home county, or the plan's
    wider home), ``conflict`` (a declared one) or ``previous`` (on the village's previous
    team), else None. Only this draw's visits and submitted ones count: a visit still to
    come of another plan is nobody's to know of here.
    """

    inspector: Inspector
    load: int
    capacity: int | None
    recusal: str | None

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.load >= self.capacity

    @property
    def problem(self) -> str | None:
        """Why the inspector may not join, in the reader's language (None: they may)."""
        who = {"who": self.inspector}
        if self.recusal == "inactive":
            return _("%(who)s is inactive") % who
        if self.recusal == "home":
            return _("%(who)s is recused: home county") % who
        if self.recusal == "conflict":
            return _("%(who)s is recused: a declared conflict") % who
        if self.recusal == "previous":
            return _("%(who)s is recused: on the village's previous team") % who
        if self.full:
            return _("%(who)s is at full capacity in this draw (%(n)d visits)") % {**who, "n": self.capacity}
        return None


def reassignment_checks(
    *, assignment: Assignment, inspectors: QuerySet[Inspector]
) -> list[ReassignmentCheck]:
    """Each of ``inspectors``' load, frozen capacity and recusal for ``assignment``'s visit, in
    credential order.

    The one rule for a manual team change: the reassign page shows it for every inspector it
    offers (:func:`reassignment_offer`), and :func:`assignment_reassign` refuses by it. Five
    queries however many inspectors (the conflicts take one more per 5,000); ``inspectors``
    is read as a subquery, never as a list of ids.
    """
    inspection = assignment.inspection
    village_code = inspection.village.code
    draw = assignment.draw
    # The village's previous team, as the draw judged it: its latest submitted visit. A visit
    # still to come (perhaps another organiser's) is nobody's to know of here.
    previous = set(
        Inspection.team.through.objects.filter(
            inspection_id=Subquery(
                Inspection.objects.filter(
                    village_id=inspection.village_id,
                    window_start__lt=inspection.window_start,
                    status=Inspection.Status.SUBMITTED,
                )
                .order_by("-window_start", "-id")
                .values("id")[:1]
            )
        ).values_list("inspector__credential_number", flat=True)
    )
    # Capacity as frozen in the draw's roster, against this draw's other visits.
    capacity = {e.credential: e.capacity for e in sampling_draw.roster_parse(draw.roster).inspectors}
    load = Counter(
        Inspection.team.through.objects.filter(
            inspection__assignment__draw_id=assignment.draw_id, inspector__in=inspectors.values("pk")
        )
        .exclude(inspection_id=inspection.pk)
        .exclude(inspection__status=Inspection.Status.CANCELLED)
        .values_list("inspector__credential_number", flat=True)
    )  # one row per visit and member
    parameters = DrawParameters.from_frozen(draw.parameters)
    members = list(
        inspectors.select_related("home_division", "home_county", "user").order_by("credential_number")
    )
    conflicts = conflict_prefixes([m.pk for m in members])
    checks = []
    for member in members:
        # The rule the draw froze; today's conflicts (a conflict declared since counts).
        entry = RosterEntry(
            credential=member.credential_number,
            home=member.home_division.code,
            capacity=0,
            home_county=member.recusal_county_code(),
            conflicts=tuple(conflicts.get(member.pk, ())),
        )
        if not member.is_active or not member.user.is_active:
            why: str | None = "inactive"
        elif parameters.recusal_rule >= RECUSAL_RULE:
            why = entry.recused_from(village_code, home_length=parameters.recusal_home_length)
        else:
            why = "home" if village_code.startswith(member.home_division.code[:6]) else None
        if why is None and member.credential_number in previous:
            why = "previous"
        checks.append(
            ReassignmentCheck(
                inspector=member,
                load=load[member.credential_number],
                capacity=capacity.get(member.credential_number),
                recusal=why,
            )
        )
    return checks


def reassignment_offer(*, assignment: Assignment) -> QuerySet[Inspector]:
    """The inspectors a manual team change offers: the visit's team, and the active inspectors of
    the village's team pool as the draw froze it (all of them for a pool of any inspector)."""
    pool = DrawParameters.from_frozen(assignment.draw.parameters).team_pool_length
    village_code = assignment.inspection.village.code
    return (
        Inspector.objects.filter(
            Q(is_active=True, user__is_active=True, home_division__code__startswith=village_code[:pool])
            | Q(
                pk__in=Inspection.team.through.objects.filter(inspection_id=assignment.inspection_id).values(
                    "inspector_id"
                )
            )
        )
        .select_related("user")
        .order_by("credential_number")
    )


@transaction.atomic
def assignment_reassign(
    *, assignment: Assignment, user: User, team: Sequence[Inspector], reason: str, now: datetime | None = None
) -> Reassignment:
    """Replace a drawn team by hand: only with a written reason, logged for the public record."""
    now = now or timezone.now()
    assignment = Assignment.objects.select_related("draw__plan", "inspection__village").get(pk=assignment.pk)
    inspection = Inspection.objects.select_for_update().get(pk=assignment.inspection_id)
    plan = assignment.draw.plan
    if not _is_organiser(user, plan):
        raise NotFound(_("No such assignment."))
    reason = reason.strip()
    if len(reason) < 5:
        raise ReasonRequired
    if inspection.status not in OPEN_STATUSES:
        raise InspectionClosed
    members = sorted({i.pk: i for i in team}.values(), key=lambda i: i.credential_number)
    problems: list[str] = []
    if len(members) != plan.team_size:
        problems.append(_("the team must have %(n)d members") % {"n": plan.team_size})
    chosen = Inspector.objects.filter(pk__in=[m.pk for m in members])
    for check in reassignment_checks(assignment=assignment, inspectors=chosen):
        if check.problem is not None:
            problems.append(check.problem)
    if problems:
        raise InvalidTeam.of(problems)
    before = sorted(inspection.team.values_list("credential_number", flat=True))
    inspection.team.set(members)
    return Reassignment.objects.create(
        assignment=assignment,
        actor=user,
        at=now,
        reason=reason,
        team_before=before,
        team_after=[m.credential_number for m in members],
    )


# --- Cancellation ------------------------------------------------------------------------


@transaction.atomic
def assignment_cancel(
    *, assignment: Assignment, user: User, reason: str, now: datetime | None = None
) -> Cancellation:
    """Cancel a drawn visit that cannot happen: only its plan's organisers, only with a written reason.

    The inspection is closed as cancelled, so the draw (and its results) can be
    published without it; the cancellation (who, when, why) goes on the draw's
    public record, which is public only once the draw is. Refuses
    ``not_found`` to anyone but the organisers, ``reason_required`` and
    ``inspection_closed`` (submitted or cancelled already).
    """
    now = now or timezone.now()
    assignment = Assignment.objects.select_related("draw__plan").get(pk=assignment.pk)
    inspection = Inspection.objects.select_for_update().get(pk=assignment.inspection_id)
    if not _is_organiser(user, assignment.draw.plan):
        raise NotFound(_("No such assignment."))
    reason = reason.strip()
    if len(reason) < 5:
        raise ReasonRequired(_("A cancellation needs a written reason."))
    if inspection.status not in OPEN_STATUSES or not inspection.close(
        to_status=Inspection.Status.CANCELLED, now=now
    ):
        raise InspectionClosed
    return Cancellation.objects.create(assignment=assignment, actor=user, at=now, reason=reason)


# --- Publication ---------------------------------------------------------------------------


@transaction.atomic
def draw_publish(*, draw: Draw, now: datetime | None = None) -> Draw:
    """Reveal the seed, once every inspection of the draw is submitted or cancelled. Idempotent."""
    now = now or timezone.now()
    draw = Draw.objects.select_for_update().get(pk=draw.pk)
    if draw.published_at is not None:
        return draw
    if draw.voided_at is not None:
        raise DrawVoided
    if draw.drawn_at is None:
        raise NotDrawn
    still_open = draw.assignments.filter(inspection__status__in=OPEN_STATUSES).count()
    if still_open:
        raise EmbargoActive.of(still_open=still_open)
    draw.published_at = now
    draw.revealed_seed = draw.seed
    draw.save(update_fields=["published_at", "revealed_seed"])
    return draw


# --- The embargo access log ------------------------------------------------------------------


def embargo_reads_record(
    *,
    user: Any,
    action: str,
    path: str = "",
    inspections: Iterable[Inspection] = (),
    plans: Iterable[SamplingPlan] = (),
    now: datetime | None = None,
) -> int:
    """Log one read of each embargoed object (unsubmitted inspection, unpublished plan). One query."""
    if not getattr(user, "is_authenticated", False):
        return 0
    now = now or timezone.now()
    rows = [
        EmbargoAccessLog(at=now, user=user, action=action, path=path[:300], inspection=inspection)
        for inspection in inspections
        if inspection.status != Inspection.Status.SUBMITTED
    ]
    for plan in plans:
        draw = plan.draw_or_none
        if draw is None or draw.published_at is None:
            rows.append(EmbargoAccessLog(at=now, user=user, action=action, path=path[:300], plan=plan))
    if rows:
        EmbargoAccessLog.objects.bulk_create(rows)
    return len(rows)
