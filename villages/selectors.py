"""Reads of divisions and villages, scoped to a division-code prefix.

The prefix is the caller's scope (``""``: everything, ``None``: nothing);
the presentation layer asks the account for it
(:func:`villages.scoping.user_prefix`), so that ``villages`` knows nothing of
accounts.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr

from villages.models import (
    VILLAGE_AREA_LENGTHS,
    Division,
    DivisionQuerySet,
    Village,
    VillageQuerySet,
    VillageTally,
)


def village_list(*, prefix: str | None) -> VillageQuerySet:
    """The village-level units under ``prefix`` (none for ``None``), with their township."""
    if prefix is None:
        return Village.objects.none()
    return Village.objects.within(prefix).select_related("township")


def division_list(*, prefix: str | None) -> DivisionQuerySet:
    """The divisions under ``prefix`` (none for ``None``)."""
    if prefix is None:
        return Division.objects.none()
    return Division.objects.within(prefix)


def villages_matching(word: str, *, within: str = "") -> VillageQuerySet:
    """The village-level units under ``within`` whose name contains ``word`` or whose code starts with it."""
    matching = Q(name__icontains=word)
    if word.isdigit():
        matching |= Q(code__startswith=word)
    return Village.objects.within(within).filter(matching).order_by()


def active_villages_counted(*, prefix: str, length: int) -> QuerySet[Any, tuple[str, int]]:
    """``(area, active villages)`` of each area under ``prefix`` with a ``length``-digit code, by code.

    Counted over the villages: what the tallies hold, for a recount, or for areas that are
    villages themselves (``length`` 12). Areas without an active village are left out.
    """
    return (
        Village.objects.within(prefix)
        .filter(is_active=True)
        .annotate(area=Substr("code", 1, length))
        .values("area")
        .annotate(count=Count("id"))
        .values_list("area", "count")
        .order_by("area")
    )


def active_villages_by_area(*, prefix: str, length: int) -> QuerySet[Any, tuple[str, int]]:
    """Like :func:`active_villages_counted`, read from the stored tallies where the areas are divisions.

    A province's, a prefecture's, a county's or a township's count
    (:class:`~villages.models.VillageTally`) is read, not counted over the country's villages.
    """
    if length not in VILLAGE_AREA_LENGTHS:
        return active_villages_counted(prefix=prefix, length=length)
    return (
        VillageTally.objects.filter(area_length=length, area__startswith=prefix, villages__gt=0)
        .values_list("area", "villages")
        .order_by("area")
    )
