"""Reads of the cases area: which cases a user may see.

Every API view starts here, so visibility has one owner.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from inspections.accounts.models import Role, User
from inspections.cases.models import NOT_HANDED_OVER, Bulletin, Case, CaseQuerySet, CaseStatus, FollowUp
from inspections.fieldwork.models import Inspection


def case_list(*, user: User, now: datetime | None = None) -> CaseQuerySet:
    """The cases ``user`` may see at ``now``.

    * accounts with a jurisdiction (supervisors, responsible parties): the
      cases of villages in it;
    * inspectors: the cases of inspections they were on, and those whose
      verification or look-back visit they were drawn for, from the opening of
      that visit's window (the embargo, as for any visit);
    * superusers: all.

    A case exists only for a submitted inspection, which stays submitted: the
    database refuses anything else (migration 0029's triggers), so no list
    joins the inspections to say so again.
    """
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    if user.is_superuser:
        return Case.objects.all()
    now = now or timezone.now()
    visible = Q(pk__in=[])
    prefix = user.scope_prefix()
    if prefix is not None:
        in_scope = Q(village__code__startswith=prefix)
        # a responsible party sees a problem once it is handed over (交办); a supervisor sees it
        # under review too (asked in the same query, so a list costs no more)
        is_supervisor = Exists(
            User.groups.through.objects.filter(user_id=user.pk, group__name=Role.SUPERVISOR)
        )
        in_scope &= ~Q(status__in=NOT_HANDED_OVER) | Q(is_supervisor)
        visible |= in_scope
    if hasattr(user, "inspector_profile"):
        on_team = Exists(
            Inspection.team.through.objects.filter(
                inspection_id=OuterRef("inspection_id"), inspector__user_id=user.pk
            )
        )
        drawn = Exists(
            FollowUp.objects.filter(
                case_id=OuterRef("pk"),
                inspection__team__user_id=user.pk,
                inspection__window_start__lte=now,
            )
        )
        visible |= Q(on_team) | Q(drawn)
    return Case.objects.filter(visible)


def public_bulletins() -> QuerySet[Bulletin]:
    """The bulletins (通报) their jurisdiction shows on the public pages, newest month first."""
    return (
        Bulletin.objects.filter(is_public=True)
        .select_related("division")
        .order_by("-month", "division__code")
    )


def closures_in_publicity(*, today: dt.date) -> QuerySet[Case]:
    """The 销号 still in their 公示 on ``today``: closed, their publicity's last day not passed.

    Problems come from submitted inspections only, and a closure tells nothing of a visit to
    come: the public page lists village, category and dates, never a person or a visit.
    """
    return (
        Case.objects.filter(status=CaseStatus.CLOSED, publicity_until__gte=today)
        .select_related("village__township", "category")
        .order_by("publicity_until", "pk")
    )
