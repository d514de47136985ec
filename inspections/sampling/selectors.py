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
