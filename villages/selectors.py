"""Reads of divisions and villages, scoped to a division-code prefix.

The prefix is the caller's scope (``""``: everything, ``None``: nothing);
the presentation layer asks the account for it
(:func:`villages.scoping.user_prefix`), so that ``villages`` knows nothing of
accounts.
"""

from __future__ import annotations

from django.db.models import Q

from villages.models import Division, DivisionQuerySet, Village, VillageQuerySet


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
