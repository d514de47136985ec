"""Reads of sampling plans, scoped to who may see them."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from inspections.accounts.models import User
from inspections.sampling.models import SamplingPlan


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
