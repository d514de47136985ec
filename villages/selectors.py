"""Reads of divisions and villages, always scoped to the caller."""

from __future__ import annotations

from typing import TYPE_CHECKING

from villages.models import Division, DivisionQuerySet, Village, VillageQuerySet

if TYPE_CHECKING:
    from inspections.accounts.models import User


def village_list(*, user: User) -> VillageQuerySet:
    """The village-level units the user's jurisdiction covers (none without one)."""
    prefix = user.scope_prefix()
    if prefix is None:
        return Village.objects.none()
    return Village.objects.within(prefix).select_related("township")


def division_list(*, user: User) -> DivisionQuerySet:
    prefix = user.scope_prefix()
    if prefix is None:
        return Division.objects.none()
    return Division.objects.within(prefix)
