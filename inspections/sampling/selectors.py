"""Reads of sampling plans, scoped to who may see them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from inspections.accounts.models import User
from inspections.common.china_time import day_start
from inspections.fieldwork.models import ANY_MODE, CoverageTally, Inspection
from inspections.sampling.draw import KEY_STRATUM
from inspections.sampling.models import SamplingPlan
from villages.models import Division, Village
from villages.selectors import active_villages_by_area


def sampling_plan_list(*, user: User) -> QuerySet[SamplingPlan]:
    """The sampling plans ``user`` may see: its organisers' (and superusers'), nobody else's.

    A plan names its sample and its teams, so it stays with its organisers
    until its draw is published (and then the public record shows it).
    """
    if not user.is_authenticated or not user.is_active:
        return SamplingPlan.objects.none()
    if user.is_superuser:
        return SamplingPlan.objects.all()
    return SamplingPlan.objects.filter(
        Exists(
            SamplingPlan.organisers.through.objects.filter(samplingplan_id=OuterRef("pk"), user_id=user.pk)
        )
    )


def organiser_choices(*, user: User) -> QuerySet[User]:
    """Who ``user`` may name as an organiser (of a plan, or of a results publication).

    Staff accounts whose jurisdiction lies in ``user``'s, and nobody for an
    account without one: the same list wherever organisers are picked.
    """
    prefix = user.scope_prefix() if user.is_authenticated and user.is_active else None
    if prefix is None:
        return User.objects.none()
    return User.objects.filter(is_staff=True, jurisdiction__code__startswith=prefix)


def stratum_names(*, plan: SamplingPlan, strata: Iterable[str]) -> dict[str, str]:
    """Each stratum's name as a supervisor reads it, never its code. One query.

    A division's stratum is the division's name; the key stratum (``key``) is 重点村; the one
    stratum of a plan without strata (``""``) is the plan's scope (or the whole country).
    A division unknown to the table keeps its code.
    """
    codes = set(strata)
    names = {code: code for code in codes}
    names.update(
        Division.objects.filter(code__in=[c for c in codes if c and c != KEY_STRATUM]).values_list(
            "code", "name"
        )
    )
    if KEY_STRATUM in codes:
        names[KEY_STRATUM] = _("key villages (重点村)")
    if "" in codes:
        names[""] = plan.scope.name if plan.scope is not None else _("the whole country")
    return names


# --- Annual coverage -------------------------------------------------------------------


@dataclass
class TownshipCoverage:
    """One township's year: its villages, those visited, and the villages visited in each mode."""

    code: str
    name: str
    villages: int = 0
    visited: int = 0
    by_mode: dict[str, int] = field(default_factory=dict)
    visited_villages: list[tuple[str, str, list[str]]] = field(default_factory=list)  # code, name, modes


@dataclass
class CoverageReport:
    prefix: str
    year: int
    by_mode: dict[str, int]
    townships: list[TownshipCoverage]

    @property
    def villages(self) -> int:
        return sum(row.villages for row in self.townships)

    @property
    def visited(self) -> int:
        return sum(row.visited for row in self.townships)

    @property
    def by_township(self) -> bool:
        """A county's or a township's report, by township with its villages named; else by area."""
        return len(self.prefix) >= 6

    @property
    def share(self) -> float | None:
        return self.visited / self.villages if self.villages else None


def coverage_year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The calendar year in China, ``[1 January 00:00, next 1 January 00:00)`` (aware)."""
    return day_start(dt.date(year, 1, 1)), day_start(dt.date(year + 1, 1, 1))


# The code length of the areas a coverage report is given by, for the length of its prefix:
# the country by province, a province by prefecture, a prefecture by county; a county or a
# township by township, with the villages visited named.
COVERAGE_AREA_LENGTH = {0: 2, 2: 4, 4: 6, 6: 9, 9: 9}


def coverage_report(*, prefix: str, year: int) -> CoverageReport:
    """Which areas under ``prefix`` were visited in ``year`` (China), by mode.

    A visit is a **submitted** inspection (submitted in the year): a visit still to
    come or under way counts nowhere (the embargo), so the report reads the same to
    everyone of the jurisdiction. Villages are the active villages of every class.
    A county's (or a township's) report is by township and names the villages visited:
    four queries (the visits by village and mode, the villages per township, the
    township names, the visited villages). A wider one is by the level below (a
    prefecture's by county, …) and names no village: three queries (the villages per
    area, the areas' stored tallies of the year by mode, the areas' names), whatever the
    jurisdiction's size.
    """
    if len(prefix) < 6:
        return _coverage_by_area(prefix=prefix, year=year)
    start, end = coverage_year_bounds(year)
    visits: dict[int, set[str]] = {}
    for village_id, mode in (
        Inspection.objects.filter(
            village__code__startswith=prefix,
            status=Inspection.Status.SUBMITTED,
            submitted_at__gte=start,
            submitted_at__lt=end,
        )
        .values_list("village_id", "mode")
        .distinct()
    ):
        visits.setdefault(village_id, set()).add(mode)
    townships: dict[str, TownshipCoverage] = {}
    for township, count in (
        Village.objects.within(prefix)
        .filter(is_active=True)
        .values("township__code")
        .annotate(n=Count("id"))
        .values_list("township__code", "n")
        .order_by("township__code")
    ):
        townships[township] = TownshipCoverage(code=township, name=township, villages=count)
    for code, name in Division.objects.filter(code__in=list(townships)).values_list("code", "name"):
        townships[code].name = name
    labels = dict(Inspection.Mode.choices)
    visited_rows = (
        Village.objects.filter(pk__in=list(visits), is_active=True)
        .values_list("id", "code", "name", "township__code")
        .order_by("code")
    )
    by_mode: dict[str, int] = {}
    for village_id, code, name, township in visited_rows:
        modes = sorted(visits[village_id])
        row = townships.get(township)
        if row is None:
            continue
        row.visited += 1
        row.visited_villages.append((code, name, [str(labels.get(m, m)) for m in modes]))
        for mode in modes:
            row.by_mode[mode] = row.by_mode.get(mode, 0) + 1
            by_mode[mode] = by_mode.get(mode, 0) + 1
    return CoverageReport(prefix=prefix, year=year, by_mode=by_mode, townships=list(townships.values()))


def _coverage_by_area(*, prefix: str, year: int) -> CoverageReport:
    """:func:`coverage_report` of a prefecture, a province or the country: by the level below.

    The villages visited are read from the year's stored tallies
    (:class:`~inspections.fieldwork.models.CoverageTally`), not counted over the inspections,
    and the active villages from theirs (:func:`villages.selectors.active_villages_by_area`).
    """
    length = COVERAGE_AREA_LENGTH[len(prefix)]
    areas: dict[str, TownshipCoverage] = {}
    for area, count in active_villages_by_area(prefix=prefix, length=length):
        areas[area] = TownshipCoverage(code=area, name=area, villages=count)
    by_mode: dict[str, int] = {}
    for area, mode, villages in CoverageTally.objects.filter(
        year=year, area_length=length, area__startswith=prefix
    ).values_list("area", "mode", "villages"):
        if area not in areas:
            continue
        if mode == ANY_MODE:
            areas[area].visited = villages
        elif villages:
            areas[area].by_mode[mode] = villages
            by_mode[mode] = by_mode.get(mode, 0) + villages
    for code, name in Division.objects.filter(code__in=list(areas)).values_list("code", "name"):
        areas[code].name = name
    return CoverageReport(prefix=prefix, year=year, by_mode=by_mode, townships=list(areas.values()))
