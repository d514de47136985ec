"""Evidence flags on a rectification's after-photos, in the shared shape (``common.flags``).

A flag is stored as data only, never as a sentence::

    {"code": "far_from_finding", "params": {"photo": "<uuid>", "distance_m": 312}}
    {"code": "near_duplicate_of_before", "params": {"photo": "<uuid>", "before_photo": "<uuid>"}}

and explained when it is read, in the reader's language, by
:func:`after_photo_flag_explanation` (the API's ``detail``, the admin's list).
Rows written before this shape kept the facts beside the code and a ``detail``
sentence translated when they were written; they read the same, explained afresh.

Distances are measured by :func:`villages.geo.distance_m`, the only datum
and distance code: both points are converted to WGS-84 first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inspections.common.flags import flag, flag_params
from inspections.evidence.selectors import PhotoFacts
from inspections.fieldwork.models import Finding
from villages.geo import distance_m

FAR_FROM_FINDING = "far_from_finding"
NEAR_DUPLICATE_OF_BEFORE = "near_duplicate_of_before"

AFTER_PHOTO_MAX_DISTANCE_M = 200.0
NEAR_DUPLICATE_MAX_BITS = 8


def after_photo_flags(
    *, finding: Finding, before: Sequence[PhotoFacts], after: Sequence[PhotoFacts]
) -> list[dict[str, Any]]:
    """The flags of the after-photos: far from the finding, or a near duplicate of a before-photo.

    A near duplicate is the picture of the problem sent again as proof of its
    rectification. Pure: the facts are read by the caller.
    """
    flags: list[dict[str, Any]] = []
    for photo in after:
        if (
            finding.longitude is not None
            and finding.latitude is not None
            and photo.longitude is not None
            and photo.latitude is not None
            and photo.datum
        ):
            metres = distance_m(
                (finding.longitude, finding.latitude, finding.datum),
                (photo.longitude, photo.latitude, photo.datum),
            )
            if metres > AFTER_PHOTO_MAX_DISTANCE_M:
                flags.append(flag(FAR_FROM_FINDING, photo=photo.uuid, distance_m=round(metres)))
        if photo.phash:
            for earlier in before:
                if earlier.phash and _hamming(photo.phash, earlier.phash) <= NEAR_DUPLICATE_MAX_BITS:
                    flags.append(flag(NEAR_DUPLICATE_OF_BEFORE, photo=photo.uuid, before_photo=earlier.uuid))
                    break
    return flags


# Each code's name, as a reviewer reads it beside the flag's sentence.
AFTER_PHOTO_FLAG_LABELS: dict[str, Any] = {
    FAR_FROM_FINDING: _("far from the finding"),
    NEAR_DUPLICATE_OF_BEFORE: _("same picture as the problem's"),
}


def after_photo_flag_label(code: str) -> str:
    """The name of an after-photo flag's code in the active language (the code itself if it has none)."""
    return str(AFTER_PHOTO_FLAG_LABELS.get(code, code))


def after_photo_flag_explanation(stored: dict[str, Any]) -> str:
    """A sentence for people, in the active language, from a flag's code and facts."""
    code, params = stored.get("code", ""), flag_params(stored)
    if code == FAR_FROM_FINDING:
        return gettext("Taken %(m)d m from where the problem was found.") % {
            "m": int(params.get("distance_m", 0))
        }
    if code == NEAR_DUPLICATE_OF_BEFORE:
        return gettext("Nearly the same picture as a photo of the problem.")
    return str(code)


def after_photo_flags_explained(flags: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored flags as the API shows them (as it always has): the code, its facts beside it,
    and ``detail`` explained now."""
    return [
        {
            "code": stored.get("code", ""),
            **flag_params(stored),
            "detail": after_photo_flag_explanation(stored),
        }
        for stored in flags
    ]


def _hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
