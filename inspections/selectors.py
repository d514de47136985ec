"""Reads used by more than one caller. The embargo rule lives here.

Who sees an inspection:

* its organisers, always;
* its team, from the opening of the visit window (never before: 四不两直);
* accounts whose jurisdiction covers the village, once it is submitted;
* superusers, always.

No one else, and no one earlier: every API list, detail, count, filter, admin
page and email that shows inspections starts from :func:`inspection_list`.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from inspections.models import Case, FollowUp, Inspection, User
from inspections.models.sampling import SamplingPlan


def inspection_list(*, user: User, now: datetime | None = None) -> QuerySet[Inspection]:
    """The inspections ``user`` may see at ``now``."""
    if not user.is_authenticated or not user.is_active:
        return Inspection.objects.none()
    if user.is_superuser:
        return Inspection.objects.all()
    now = now or timezone.now()
    organiser = Exists(
        Inspection.organisers.through.objects.filter(inspection_id=OuterRef("pk"), user_id=user.pk)
    )
    visible = Q(organiser)
    if hasattr(user, "inspector_profile"):
        on_team = Exists(
            Inspection.team.through.objects.filter(inspection_id=OuterRef("pk"), inspector__user_id=user.pk)
        )
        visible |= Q(on_team, window_start__lte=now)
    prefix = user.scope_prefix()
    if prefix is not None:
        visible |= Q(status=Inspection.Status.SUBMITTED, village__code__startswith=prefix)
    return Inspection.objects.filter(visible)


def case_list(*, user: User, now: datetime | None = None) -> QuerySet[Case]:
    """The cases ``user`` may see at ``now``.

    * accounts with a jurisdiction (supervisors, responsible parties): the
      cases of villages in it; cases exist only once an inspection is
      submitted, and the filter on the inspection's status says so again;
    * inspectors: the cases of inspections they were on, and those whose
      verification or look-back visit they were drawn for, from the opening of
      that visit's window (the embargo, as for any visit);
    * superusers: all.
    """
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    if user.is_superuser:
        return Case.objects.all()
    now = now or timezone.now()
    visible = Q(pk__in=[])
    prefix = user.scope_prefix()
    if prefix is not None:
        visible |= Q(village__code__startswith=prefix)
    if hasattr(user, "inspector_profile"):
        on_team = Exists(
            Inspection.team.through.objects.filter(
                inspection_id=OuterRef("inspection_id"), inspector__user_id=user.pk
            )
        )
        drawn = Exists(
            FollowUp.objects.filter(
                case_id=OuterRef("pk"), inspector__user_id=user.pk, inspection__window_start__lte=now
            )
        )
        visible |= Q(on_team) | Q(drawn)
    return Case.objects.filter(visible, inspection__status=Inspection.Status.SUBMITTED)


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


def assignment_list(*, user: User, now: datetime | None = None) -> QuerySet[Inspection]:
    """The caller's open inspections as a team member: the phone's worklist.

    The inspections the caller may act on (:func:`inspection_actionable`: on
    the team, from the window's opening, never before, to its end plus the
    grace for late uploads) that are still open: scheduled or in progress.
    """
    return inspection_actionable(user=user, now=now).filter(
        status__in=[Inspection.Status.SCHEDULED, Inspection.Status.IN_PROGRESS]
    )


def inspection_actionable(*, user: User, now: datetime | None = None) -> QuerySet[Inspection]:
    """The inspections ``user`` may act on in the field at ``now``.

    Only a member of the team, and only from the opening of the visit window
    until its end plus ``QINGSHAN_FIELDWORK_GRACE`` (late uploads from a phone
    that was offline); never a cancelled inspection. Submitted inspections stay
    in the set so that a phone replaying its queue gets its answers, but they
    are read-only: the services refuse changes to them.
    """
    from django.conf import settings

    if not user.is_authenticated or not user.is_active or not hasattr(user, "inspector_profile"):
        return Inspection.objects.none()
    now = now or timezone.now()
    on_team = Exists(
        Inspection.team.through.objects.filter(
            inspection_id=OuterRef("pk"), inspector__user_id=user.pk, inspector__is_active=True
        )
    )
    return Inspection.objects.filter(
        on_team,
        window_start__lte=now,
        window_end__gte=now - settings.QINGSHAN_FIELDWORK_GRACE,
    ).exclude(status=Inspection.Status.CANCELLED)
