"""The supervisor's workbench: one jurisdiction's figures, area by area, in a constant number of queries.

:func:`workbench_build` reads what the first page of the admin shows a
supervisor: for each area one level below their jurisdiction (the townships
of a county, the counties of a prefecture, the prefectures of a province, the
provinces for the whole country) and for the whole of it:

* **open** problems: confirmed (交办) and not closed (销号); **overdue**: owing a
  rectification past the deadline (``inspections.cases.models.overdue_condition``);
  **escalated**: overdue and under 督办 (escalation level 1 or more); **due soon**:
  owing a rectification with the deadline within the next five working days
  (China's calendar, ``inspections.workdays``), today included;
* **awaiting review**: findings of submitted inspections the organising level has
  not yet confirmed, merged or voided;
* **evidence flags awaiting review**: submitted inspections with a photo whose
  flags, as the reader is shown them, nobody has reviewed (a flag that names
  only a photo of a visit still under way is not shown, so not counted);
  rectification after-photos likewise, counted apart (they belong to problems); and the
  photos of both, the count of the admin's queue of photos whose flags await review;
* **coverage** this year: active villages with an inspection submitted this year
  (China's calendar year) over the active villages;
* **on-time rectification rate**: of the confirmed problems whose deadline fell
  this year before today, the share with a rectification submitted by the
  deadline (China's date);
* **relapse rate**: of the problems closed (销号) or found relapsed (返黑返臭) by a
  look-back, the share found relapsed;
* **complaints awaiting reply** (群众举报 not yet answered).

Every figure counts only what its reader may see: problems and coverage come
from submitted inspections only, so no figure moves with a visit still to come
(四不两直). The upcoming windows are those of the sampling plans the reader
organises, and nobody else's; the notifications are the reader's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.models import (
    RECTIFICATION_DUE,
    CaseNotification,
    CaseStatus,
    overdue_condition,
)
from inspections.cases.selectors import case_list
from inspections.common.china_time import day_start, local_date
from inspections.complaints.selectors import complaints_within
from inspections.evidence.flags import photos_flags_awaiting_review
from inspections.evidence.models import Photo
from inspections.evidence.selectors import visible_photos
from inspections.fieldwork.models import ANY_MODE, CoverageTally, Inspection
from inspections.sampling.models import SamplingPlan
from inspections.workdays.calendar import WorkingCalendar, add_working_days
from villages.models import VILLAGE_AREA_LENGTHS, Division, Village
from villages.selectors import active_villages_by_area

# How far ahead "due soon" looks, in working days (as the digests).
DUE_SOON_WORKING_DAYS = 5
# The length of an area's code one level below a jurisdiction's code of this length.
AREA_CODE_LENGTH = {0: 2, 2: 4, 4: 6, 6: 9, 9: 12}
UPCOMING_PLANS = 10
NOTIFICATIONS = 10

# Confirmed problems not closed: what "open" means on the workbench (and in the digests).
OPEN_STATUSES = (
    CaseStatus.OPEN,
    CaseStatus.RECTIFYING,
    CaseStatus.AWAITING_VERIFICATION,
    CaseStatus.VERIFIED,
    CaseStatus.REOPENED,
)
CONFIRMED_STATUSES = (*OPEN_STATUSES, CaseStatus.CLOSED)


@dataclass
class AreaFigures:
    """The figures of one area (or of the whole jurisdiction, ``code`` its prefix)."""

    code: str
    name: str
    open: int = 0
    overdue: int = 0
    escalated: int = 0
    due_soon: int = 0
    awaiting_review: int = 0
    flagged_inspections: int = 0
    flagged_after_photos: int = 0
    # the photos of both, each awaiting review: the flag review queue's count
    flagged_photos: int = 0
    villages: int = 0
    villages_inspected: int = 0
    inspections_submitted: int = 0
    due_this_year: int = 0
    on_time: int = 0
    closed_or_relapsed: int = 0
    relapsed: int = 0
    complaints_awaiting: int = 0

    @property
    def coverage(self) -> float | None:
        return self.villages_inspected / self.villages if self.villages else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.due_this_year if self.due_this_year else None

    @property
    def relapse_rate(self) -> float | None:
        return self.relapsed / self.closed_or_relapsed if self.closed_or_relapsed else None

    def add(self, other: AreaFigures) -> None:
        for item in fields(self):
            if item.type in ("int", int):
                setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


@dataclass(frozen=True)
class UpcomingPlan:
    pk: int
    name: str
    scope: str
    window_start: dt.datetime
    window_end: dt.datetime


@dataclass(frozen=True)
class Notice:
    pk: int
    case_id: int
    kind: str
    level: int
    village: str
    category: str
    created_at: dt.datetime


@dataclass
class Workbench:
    """Everything the first page shows one reader."""

    prefix: str
    area_length: int
    today: dt.date
    year: int
    due_until: dt.date
    total: AreaFigures
    areas: list[AreaFigures] = field(default_factory=list)
    upcoming: list[UpcomingPlan] = field(default_factory=list)
    organised_visits: int = 0
    notices: list[Notice] = field(default_factory=list)
    unread_notices: int = 0


def workbench_prefix(user: User) -> str | None:
    """The jurisdiction the workbench shows: a superuser's is the country, anyone else's their division."""
    return user.scope_prefix() if user.is_authenticated and user.is_active else None


def _scoped(queryset: QuerySet[Any], prefix: str, path: str) -> QuerySet[Any]:
    return queryset.filter(**{f"{path}__startswith": prefix}) if prefix else queryset


def workbench_build(*, user: User, now: dt.datetime | None = None) -> Workbench | None:
    """The workbench of ``user`` at ``now``; ``None`` for an account without a jurisdiction.

    Queries (constant, whatever the jurisdiction's size):

    1-2. the holiday calendar (its years, and their dates if any was entered);
    3. the areas one level down (divisions, or villages for a township);
    4. problems: every case figure by area (one grouped aggregate);
    5. inspections submitted this year and the villages they cover, by area (the stored
       tallies of the year, :class:`~inspections.fieldwork.models.CoverageTally`; counted
       over the inspections only for a township's villages);
    6. active villages by area (the stored tallies,
       :class:`~villages.models.VillageTally`; counted for a township's villages);
    7. complaints awaiting reply by area;
    8-11. evidence flags: the unreviewed photos whose flags all name other photos,
       which of those photos the reader may be told of (only if there are any),
       then inspections and after-photos with a flag shown, by area;
    12. the plans the reader organises whose window has not closed;
    13. the reader's visits still to be made (organised by them);
    14-15. the reader's unread notifications, and how many.
    """
    prefix = workbench_prefix(user)
    if prefix is None:
        return None
    now = now or timezone.now()
    today = local_date(now)
    year_start = dt.date(today.year, 1, 1)
    length = AREA_CODE_LENGTH.get(len(prefix), len(prefix))

    # 1-2
    calendar = WorkingCalendar.load()
    due_until = add_working_days(today, DUE_SOON_WORKING_DAYS, calendar=calendar).date

    # 3
    rows: QuerySet[Any, tuple[str, str]]
    if length == 12:
        rows = Village.objects.within(prefix).values_list("code", "name")
    else:
        rows = Division.objects.within(prefix).filter(code__length=length).values_list("code", "name")
    areas = {code: AreaFigures(code=code, name=name) for code, name in rows.order_by("code")}

    def area(area_code: str | None) -> AreaFigures | None:
        if area_code is None:
            return None
        found = areas.get(area_code)
        if found is None:  # a code without its division row: shown by its code
            found = areas[area_code] = AreaFigures(area_code, area_code)
        return found

    # 4
    owing = Q(status__in=RECTIFICATION_DUE)
    overdue = overdue_condition(today)
    # Read from the problem's own row (kept by the database, migration 0033): its first
    # rectification's day and its village's code, without a look-up or a join per problem.
    on_time = Q(first_rectified_on__lte=F("deadline"))
    cases = (
        _scoped(case_list(user=user, now=now), prefix, "village_code")
        .annotate(area=Substr("village_code", 1, length))
        .values("area")
        .annotate(
            open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
            overdue=Count("id", filter=overdue),
            escalated=Count("id", filter=overdue & Q(escalation_level__gte=1)),
            due_soon=Count("id", filter=owing & Q(deadline__gte=today, deadline__lte=due_until)),
            awaiting_review=Count("id", filter=Q(status=CaseStatus.AWAITING_REVIEW)),
            due_this_year=Count("id", filter=_due_this_year(year_start, today)),
            on_time_count=Count("id", filter=_due_this_year(year_start, today) & on_time),
            closed_or_relapsed=Count("id", filter=Q(status=CaseStatus.CLOSED) | Q(is_relapse=True)),
            relapsed=Count("id", filter=Q(is_relapse=True)),
        )
        .order_by()
    )
    for row in cases:
        target = area(row["area"])
        assert target is not None
        for name in ("open", "overdue", "escalated", "due_soon", "awaiting_review", "due_this_year"):
            setattr(target, name, row[name])
        target.on_time = row["on_time_count"]
        target.closed_or_relapsed = row["closed_or_relapsed"]
        target.relapsed = row["relapsed"]

    # 5: read from the stored tallies where the areas are divisions, counted for a township's villages
    visits: Iterable[tuple[str, int, int]]
    if length in VILLAGE_AREA_LENGTHS:
        visits = CoverageTally.objects.filter(
            year=today.year, area_length=length, area__startswith=prefix, mode=ANY_MODE
        ).values_list("area", "villages", "inspections")
    else:
        visits = (
            _scoped(Inspection.objects.all(), prefix, "village__code")
            .filter(status=Inspection.Status.SUBMITTED, submitted_at__gte=day_start(year_start))
            .annotate(area=Substr("village__code", 1, length))
            .values("area")
            .annotate(
                villages=Count("village_id", distinct=True, filter=Q(village__is_active=True)),
                inspections=Count("id"),
            )
            .values_list("area", "villages", "inspections")
            .order_by()
        )
    for area_code, villages, inspections in visits:
        target = area(area_code)
        assert target is not None
        target.villages_inspected = villages
        target.inspections_submitted = inspections

    # 6
    for area_code, count in active_villages_by_area(prefix=prefix, length=length):
        target = area(area_code)
        assert target is not None
        target.villages = count

    total = AreaFigures(code=prefix, name="")
    # 7: complaints without a village (the whole country's only) count in the total alone.
    for row in (
        complaints_within(prefix)
        .filter(replied_at__isnull=True)
        .annotate(area=Substr("village__code", 1, length))
        .values("area")
        .annotate(count=Count("id"))
        .order_by()
    ):
        target = area(row["area"])
        if target is None:
            total.complaints_awaiting += row["count"]
        else:
            target.complaints_awaiting = row["count"]

    # 8-11
    _flags(user=user, prefix=prefix, length=length, area=area, now=now)

    for figures in areas.values():
        total.add(figures)

    # 12: only the plans the reader organises, a superuser's too: no one learns of another's.
    plans = SamplingPlan.objects.filter(
        Exists(
            SamplingPlan.organisers.through.objects.filter(samplingplan_id=OuterRef("pk"), user_id=user.pk)
        ),
        window_end__gt=now,
    ).order_by("window_start", "pk")[:UPCOMING_PLANS]
    upcoming = [
        UpcomingPlan(pk=pk, name=name, scope=scope, window_start=start, window_end=end)
        for pk, name, scope, start, end in plans.values_list(
            "pk", "name", "scope__name", "window_start", "window_end"
        )
    ]
    # 13
    organised_visits = organised_visits_list(user=user).count()

    # 14-15
    unread = CaseNotification.objects.filter(recipient_id=user.pk, read_at__isnull=True)
    notices = [
        Notice(
            pk=pk,
            case_id=case_id,
            kind=kind,
            level=level,
            village=village,
            category=category,
            created_at=created_at,
        )
        for pk, case_id, kind, level, village, category, created_at in unread.order_by(
            "-created_at", "-pk"
        ).values_list(
            "pk",
            "case_id",
            "kind",
            "level",
            "case__village__name",
            "case__category__name_zh_hans",
            "created_at",
        )[:NOTIFICATIONS]
    ]
    unread_count = unread.count() if len(notices) == NOTIFICATIONS else len(notices)

    return Workbench(
        prefix=prefix,
        area_length=length,
        today=today,
        year=today.year,
        due_until=due_until,
        total=total,
        areas=sorted(areas.values(), key=lambda a: a.code),
        upcoming=upcoming,
        organised_visits=organised_visits,
        notices=notices,
        unread_notices=unread_count,
    )


def _due_this_year(year_start: dt.date, today: dt.date) -> Q:
    """Confirmed problems whose deadline fell this year, before today: the on-time rate's base."""
    return Q(status__in=CONFIRMED_STATUSES, deadline__gte=year_start, deadline__lt=today)


def organised_visits_list(*, user: User) -> QuerySet[Inspection]:
    """The visits ``user`` organises that are still to be made (scheduled or under way)."""
    return Inspection.objects.filter(
        Exists(Inspection.organisers.through.objects.filter(inspection_id=OuterRef("pk"), user_id=user.pk)),
        status__in=[Inspection.Status.SCHEDULED, Inspection.Status.IN_PROGRESS],
    )


def _flags(*, user: User, prefix: str, length: int, area: Any, now: dt.datetime) -> None:
    """Inspections and after-photos with evidence flags awaiting review, as ``user`` is shown them."""
    in_scope = Q(inspection__status=Inspection.Status.SUBMITTED) & Q(
        inspection__village__code__startswith=prefix
    ) | Q(case__in=_scoped(case_list(user=user, now=now), prefix, "village__code"))
    # 8-9: a photo whose only flags name other photos counts when the reader is told of one of them.
    flagged = photos_flags_awaiting_review(
        Photo.objects.filter(in_scope),
        visible=visible_photos(user=user, visible_cases=case_list(user=user, now=now)),
    )
    # 10
    for row in (
        flagged.filter(inspection__isnull=False)
        .annotate(area=Substr("inspection__village__code", 1, length))
        .values("area")
        .annotate(count=Count("inspection_id", distinct=True), photos=Count("id"))
        .order_by()
    ):
        target = area(row["area"])
        if target is not None:
            target.flagged_inspections = row["count"]
            target.flagged_photos += row["photos"]
    # 11
    for row in (
        flagged.filter(case__isnull=False)
        .annotate(area=Substr("case__village__code", 1, length))
        .values("area")
        .annotate(count=Count("id"))
        .order_by()
    ):
        target = area(row["area"])
        if target is not None:
            target.flagged_after_photos = row["count"]
            target.flagged_photos += row["count"]
