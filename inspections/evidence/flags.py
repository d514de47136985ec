"""Evidence flags of photos: the one flag shape, the checks that raise them, their explanations.

A flag is ``{"code": <stable code>, "params": {<the facts behind it>}}``,
stored with the photo (``Photo.flags``) when it is processed. It is never
stored as a sentence: :func:`flag_explanation` words it when it is read, in
the reader's language, so a supervisor reading in Chinese and an auditor
reading in English see the same flag each in their own. Check-ins
(``inspections.fieldwork.flags``) and rectifications (the cases area) use the
same shape.

Stored flags hold everything the checks found, for whoever may read all of
it. What a reader is shown is cut to what that reader may see
(:func:`photo_flags_for_reader`):

* a duplicate flag keeps every matching photo (up to ``MAX_MATCHES``) and is
  shown by the first one the reader may be told of: named (its inspection or
  case, village) if the reader may see it; "a photo you cannot see" if not,
  when that photo is a case's or its inspection was submitted. A photo of an
  unsubmitted inspection the reader may not see is passed over as if it did
  not exist, and a flag naming only such photos does not exist for that
  reader at all: even "a photo you cannot see" would tell them that a visit is
  under way (四不两直). Once that inspection is submitted, the flag appears;
* the facts read from the file's metadata (GPS distance, capture time, device
  clock, software) go only to readers who may see the original
  (:func:`inspections.evidence.policies.may_see_original`); others get the
  flag without them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inspections.common.flags import flag
from inspections.evidence import imaging
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection

# How many matching photos a duplicate flag keeps, nearest (or earliest) first.
MAX_MATCHES = 20
# The flags that name another photo, and the ones that do not (each check's code).
DUPLICATE_CODES = frozenset({"exact_duplicate", "near_duplicate"})
OWN_CODES = (
    "damaged",
    "no_exif",
    "no_gps",
    "far_from_village",
    "outside_window",
    "capture_time_invalid",
    "clock_skew",
    "edited",
)
# The facts of a flag read from the file's metadata or the phone's clock and
# position (GPS, capture time, device): shown only with the original.
METADATA_FACTS: dict[str, tuple[str, ...]] = {
    "far_from_village": ("distance_m",),
    "outside_window": ("taken_at", "offset_known"),
    "capture_time_invalid": ("value",),
    "clock_skew": ("seconds",),
    "edited": ("software",),
}


def _photo_ref(other: Photo) -> dict[str, Any]:
    ref: dict[str, Any] = {"photo": str(other.client_uuid), "inspection": other.inspection_id}
    if other.case_id is not None:
        ref["case"] = other.case_id
    village = other.village
    if village is not None:
        ref["village"] = village.name
        ref["village_code"] = village.code
    return ref


def _duplicate_flag(code: str, refs: list[dict[str, Any]]) -> dict[str, Any]:
    """A duplicate flag: the first match's facts, and the further matches beside them.

    The further ones are kept so that a reader who may not be told of the first
    (a photo of a visit still under way) is told of the next one instead,
    exactly as if the first did not exist (:func:`photo_flags_for_reader`).
    """
    first, *further = refs
    if further:
        return flag(code, **first, also_matches=further)
    return flag(code, **first)


# A perceptual hash thresholds 64 DCT coefficients at their median, so a photo with any
# detail has about half its bits set (32 for every camera file in the tests). A flat image
# (a solid colour, a lens cap, a plain gradient) ties nearly every coefficient at the
# median: 0x0 or 0x8000…, a handful of bits. Such hashes say nothing about the picture
# and would make every flat image a near duplicate of every other.
LOW_INFORMATION_BITS = 16


def low_information(phash: int) -> bool:
    """Whether a 64-bit perceptual hash is too flat to compare (fewer than 16 bits set, or clear)."""
    ones = phash.bit_count()
    return ones < LOW_INFORMATION_BITS or 64 - ones < LOW_INFORMATION_BITS


def near_duplicates(*, phash: int, max_distance: int, exclude_pk: int | None = None) -> list[tuple[int, int]]:
    """Photos within ``max_distance`` bits of ``phash``: (id, distance) pairs, nearest first.

    Multi-index hashing: the 64-bit hash is cut into four 16-bit bands, each
    indexed. If two hashes differ in at most ``d`` bits, one of the four bands
    differs in at most ``d // 4`` bits (pigeonhole), so probing each band's
    index with every value within that radius finds every candidate; the exact
    distance is then counted on the few candidates. With the default d = 6 that
    is 4 × 17 index probes, and about a thousand candidates among a million
    random hashes.
    """
    radius = max_distance // 4
    condition = Q()
    for index, band in enumerate(imaging.phash_bands(phash)):
        probes = _within_radius(band, radius)
        condition |= Q(**{f"phash_band{index}__in": probes})
    queryset = Photo.objects.filter(condition, phash__isnull=False)
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    matches = []
    for pk, other in queryset.values_list("pk", "phash").iterator(chunk_size=5000):
        assert other is not None
        value = imaging.phash_from_db(other)
        distance = (phash ^ value).bit_count()
        if distance <= max_distance and not low_information(value):
            matches.append((distance, pk))
    matches.sort()
    return [(pk, distance) for distance, pk in matches]


def _within_radius(value: int, radius: int) -> list[int]:
    """All 16-bit values within ``radius`` bits of ``value``."""
    values = [value]
    frontier = [value]
    for _step in range(radius):
        next_frontier = []
        for current in frontier:
            for bit in range(16):
                flipped = current ^ (1 << bit)
                if flipped not in values:
                    values.append(flipped)
                    next_frontier.append(flipped)
        frontier = next_frontier
    return values


def evidence_flags(*, photo: Photo, analysis: imaging.Analysis) -> list[dict[str, Any]]:
    """The evidence flags of a processed photo, each a code and its facts."""
    flags: list[dict[str, Any]] = []
    facts = analysis.exif
    inspection = photo.inspection
    village = photo.village

    if analysis.damaged:
        flags.append(flag("damaged"))
    if not facts.has_exif:
        flags.append(flag("no_exif"))
    if facts.gps is None:
        flags.append(flag("no_gps", invalid=facts.gps_invalid))
    elif photo.distance_m is not None and village is not None:
        radius = settings.QINGSHAN_EVIDENCE_RADIUS_M
        if photo.distance_m > radius:
            flags.append(
                flag(
                    "far_from_village",
                    distance_m=round(photo.distance_m),
                    radius_m=round(radius),
                    village=village.name,
                )
            )
    if facts.taken_at_invalid:
        flags.append(flag("capture_time_invalid", value=facts.taken_at_invalid))
    if inspection is not None:
        tolerance = settings.QINGSHAN_EVIDENCE_WINDOW_TOLERANCE
        if facts.taken_at is not None and not (
            inspection.window_start - tolerance <= facts.taken_at <= inspection.window_end + tolerance
        ):
            flags.append(
                flag(
                    "outside_window",
                    taken_at=facts.taken_at.isoformat(),
                    offset_known=bool(facts.taken_at_offset),
                    window_start=inspection.window_start.isoformat(),
                    window_end=inspection.window_end.isoformat(),
                    tolerance_minutes=int(tolerance.total_seconds() // 60),
                )
            )
    skew = photo.clock_skew_seconds
    if skew is not None and abs(skew) > settings.QINGSHAN_EVIDENCE_CLOCK_SKEW.total_seconds():
        flags.append(flag("clock_skew", seconds=round(skew)))

    exact = list(
        Photo.objects.select_related("inspection__village", "case__village")
        .filter(sha256=photo.sha256, pk__lt=photo.pk)
        .order_by("pk")[:MAX_MATCHES]
    )
    if exact:
        flags.append(_duplicate_flag("exact_duplicate", [_photo_ref(other) for other in exact]))
    if analysis.phash is not None and not low_information(analysis.phash):
        matches = near_duplicates(
            phash=analysis.phash,
            max_distance=settings.QINGSHAN_EVIDENCE_NEAR_DUPLICATE_DISTANCE,
            exclude_pk=photo.pk,
        )
        if matches:
            candidates = Photo.objects.select_related("inspection__village", "case__village").in_bulk(
                [pk for pk, _d in matches]
            )
            near = []
            for pk, distance in matches:
                other = candidates[pk]
                if other.sha256 == photo.sha256:
                    continue  # the same file: an exact duplicate, told above when it came first
                near.append({"distance": distance, **_photo_ref(other)})
                if len(near) == MAX_MATCHES:
                    break
            if near:
                flags.append(_duplicate_flag("near_duplicate", near))
    if facts.software and _is_editor(facts.software):
        flags.append(flag("edited", software=facts.software))
    return flags


EDITING_SOFTWARE = (
    "photoshop",
    "lightroom",
    "gimp",
    "snapseed",
    "picsart",
    "meitu",
    "美图",
    "醒图",
    "美颜",
    "beautycam",
    "vsco",
    "pixelmator",
    "affinity",
    "canva",
    "paint.net",
    "acdsee",
    "photoscape",
    "fotor",
    "polarr",
    "imagemagick",
    "graphicsmagick",
    "pil",
    "pillow",
    "picasa",
    "capture one",
    "darktable",
    "luminar",
    "facetune",
    "faceu",
    "wps",
)


def _is_editor(software: str) -> bool:
    lowered = software.lower()
    words = set(lowered.replace("/", " ").replace("-", " ").split())
    for name in EDITING_SOFTWARE:
        # short names must be whole words ("pil" is not in "compiled")
        if (len(name) <= 4 and name in words) or (len(name) > 4 and name in lowered):
            return True
    return False


# Each code's name, as a reviewer reads it beside the flag's sentence (flag_explanation).
FLAG_LABELS: dict[str, Any] = {
    "damaged": _("damaged file"),
    "no_exif": _("no EXIF"),
    "no_gps": _("no GPS position"),
    "far_from_village": _("far from the village"),
    "outside_window": _("outside the visit window"),
    "capture_time_invalid": _("capture time unreadable"),
    "clock_skew": _("phone clock off"),
    "exact_duplicate": _("identical file received before"),
    "near_duplicate": _("near duplicate"),
    "edited": _("editing software"),
}


def flag_label(code: str) -> str:
    """The name of a photo flag's code in the active language (the code itself if it has none)."""
    return str(FLAG_LABELS.get(code, code))


def _when(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return date_format(timezone.localtime(moment), "Y-m-d H:i T")


def flag_explanation(flag: dict[str, Any]) -> str:
    """A sentence for people, in the active language, from a flag's code and facts."""
    code, p = flag.get("code", ""), flag.get("params", {})
    if code == "damaged":
        return gettext(
            "The image data is truncated or corrupt and cannot be decoded; the file is kept as received."
        )
    if code == "no_exif":
        return gettext("The file has no EXIF metadata at all: no camera time, position or device to check.")
    if code == "no_gps":
        if p.get("invalid"):
            return gettext(
                "The file's GPS data is present but unusable (missing references or impossible values)."
            )
        return gettext("The file carries no GPS position.")
    if code == "far_from_village" and p.get("distance_m") is None:
        return gettext("Taken beyond the %(radius)s m allowed around %(village)s.") % {
            "village": p.get("village"),
            "radius": p.get("radius_m"),
        }
    if code == "far_from_village":
        return gettext("Taken %(distance)s m from %(village)s, beyond the %(radius)s m allowed.") % {
            "distance": p.get("distance_m"),
            "village": p.get("village"),
            "radius": p.get("radius_m"),
        }
    if code == "outside_window" and not p.get("taken_at"):
        return gettext(
            "Taken outside the visit window %(start)s – %(end)s (tolerance %(tolerance)s min)."
        ) % {
            "start": _when(p.get("window_start", "")),
            "end": _when(p.get("window_end", "")),
            "tolerance": p.get("tolerance_minutes"),
        }
    if code == "outside_window":
        text = gettext(
            "Taken at %(taken)s, outside the visit window %(start)s – %(end)s (tolerance %(tolerance)s min)."
        ) % {
            "taken": _when(p.get("taken_at", "")),
            "start": _when(p.get("window_start", "")),
            "end": _when(p.get("window_end", "")),
            "tolerance": p.get("tolerance_minutes"),
        }
        if not p.get("offset_known"):
            text += " " + gettext("The file gives no UTC offset; its camera time was read as China time.")
        return text
    if code == "capture_time_invalid" and p.get("value") is None:
        return gettext("The file's EXIF capture time cannot be read as a date and time.")
    if code == "capture_time_invalid":
        return gettext(
            "The file's EXIF capture time “%(value)s” cannot be read as a date and time: "
            "the capture time is unknown."
        ) % {"value": p.get("value")}
    if code == "clock_skew" and p.get("seconds") is None:
        return gettext("The phone's clock was off from the server's by more than allowed.")
    if code == "clock_skew":
        seconds = int(p.get("seconds", 0))
        minutes = abs(seconds) // 60
        if seconds > 0:
            return gettext("The phone's clock was %(minutes)s min ahead of the server's.") % {
                "minutes": minutes
            }
        return gettext("The phone's clock was %(minutes)s min behind the server's.") % {"minutes": minutes}
    if code == "exact_duplicate" and p.get("photo") is None:
        return gettext("The same file (identical SHA-256) was already received as a photo you cannot see.")
    if code == "near_duplicate" and p.get("photo") is None:
        return gettext(
            "Looks like a photo you cannot see: perceptual hashes differ in %(distance)s of 64 bits."
        ) % {"distance": p.get("distance")}
    if code == "exact_duplicate" and p.get("case") is not None:
        return gettext(
            "The same file (identical SHA-256) was already received as photo %(photo)s "
            "of case %(case)s (%(village)s)."
        ) % {"photo": p.get("photo"), "case": p.get("case"), "village": p.get("village", "—")}
    if code == "near_duplicate" and p.get("case") is not None:
        return gettext(
            "Looks like photo %(photo)s of case %(case)s (%(village)s): "
            "perceptual hashes differ in %(distance)s of 64 bits."
        ) % {
            "photo": p.get("photo"),
            "case": p.get("case"),
            "village": p.get("village", "—"),
            "distance": p.get("distance"),
        }
    if code == "exact_duplicate":
        return gettext(
            "The same file (identical SHA-256) was already received as photo %(photo)s "
            "of inspection %(inspection)s (%(village)s)."
        ) % {"photo": p.get("photo"), "inspection": p.get("inspection"), "village": p.get("village", "—")}
    if code == "near_duplicate":
        return gettext(
            "Looks like photo %(photo)s of inspection %(inspection)s (%(village)s): "
            "perceptual hashes differ in %(distance)s of 64 bits."
        ) % {
            "photo": p.get("photo"),
            "inspection": p.get("inspection"),
            "village": p.get("village", "—"),
            "distance": p.get("distance"),
        }
    if code == "edited" and not p.get("software"):
        return gettext("The EXIF names editing software.")
    if code == "edited":
        return gettext("The EXIF names editing software: %(software)s.") % {"software": p.get("software")}
    return code


def photo_flags_explained(photo: Photo) -> list[dict[str, Any]]:
    """All the photo's stored flags, explained: for a reader who may see everything.

    What a particular reader is shown comes from :func:`photo_flags_for_reader`.
    """
    return [_explained(f) for f in photo.flags]


def _explained(stored: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": stored["code"],
        "explanation": flag_explanation(stored),
        "facts": stored.get("params", {}),
    }


def _matches(stored: dict[str, Any]) -> list[dict[str, Any]]:
    """The photos a duplicate flag names, in its order: the first match, then the further ones."""
    params = stored.get("params", {})
    first = {key: value for key, value in params.items() if key != "also_matches"}
    return [first, *params.get("also_matches", [])]


def flags_naming(flags: Iterable[dict[str, Any]]) -> set[str]:
    """The client UUIDs of the other photos these stored flags name (duplicates)."""
    return {
        str(ref["photo"])
        for f in flags
        if f.get("code") in DUPLICATE_CODES
        for ref in _matches(f)
        if ref.get("photo")
    }


def _referenced(photos: Iterable[Photo]) -> set[str]:
    return {key for photo in photos for key in flags_naming(photo.flags)}


def has_own_flag() -> Q:
    """Photos with a flag that names no other photo: shown to whoever sees the photo, whatever else exists.

    JSON containment on PostgreSQL; elsewhere the stored JSON text, which
    Django writes with ``json.dumps``' separators, is searched for the code.
    """
    condition = Q()
    for code in OWN_CODES:
        if connection.features.supports_json_field_contains:
            condition |= Q(flags__contains=[{"code": code}])
        else:
            condition |= Q(flags__icontains=f'"code": "{code}"')
    return condition


def photo_flags_for_reader(
    photos: Iterable[Photo], *, visible: QuerySet[Photo], originals: Collection[int]
) -> dict[int, list[dict[str, Any]]]:
    """Each photo's flags (by pk) as one reader may be shown them, explained in the active language.

    ``visible`` is every photo the reader may see
    (:func:`inspections.evidence.selectors.visible_photos`); ``originals`` the
    pks of ``photos`` whose original the reader may see
    (:func:`inspections.evidence.policies.originals_visible`). See the module's
    docstring for the rule. One query when a flag names another photo, none
    otherwise.
    """
    photos = list(photos)
    referenced = _referenced(photos)
    seen: set[str] = set()
    mentionable: set[str] = set()
    if referenced:
        rows = (
            Photo.objects.filter(client_uuid__in=referenced)
            .annotate(seen=Exists(visible.filter(pk=OuterRef("pk"))))
            .values_list("client_uuid", "case_id", "inspection__status", "seen")
        )
        for client_uuid, case_id, status, is_seen in rows:
            key = str(client_uuid)
            if is_seen:
                seen.add(key)
            # A case exists only for a submitted inspection; an unsubmitted (or
            # cancelled) inspection is never hinted at.
            if is_seen or case_id is not None or status == Inspection.Status.SUBMITTED:
                mentionable.add(key)
    shown: dict[int, list[dict[str, Any]]] = {}
    for photo in photos:
        flags = []
        for stored in photo.flags:
            cut = _for_reader(stored, seen=seen, mentionable=mentionable, original=photo.pk in originals)
            if cut is not None:
                flags.append(_explained(cut))
        shown[photo.pk] = flags
    return shown


def photos_with_flags_shown(photos: Iterable[Photo], *, visible: QuerySet[Photo]) -> list[int]:
    """The pks of ``photos`` with at least one flag shown to the reader whose photos are ``visible``.

    What a reviewer may mark reviewed, and count: a photo whose only flag names
    a visit still under way is not flagged for that reader.
    """
    shown = photo_flags_for_reader(photos, visible=visible, originals=())
    return [pk for pk, flags in shown.items() if flags]


def photos_flags_awaiting_review(photos: QuerySet[Photo], *, visible: QuerySet[Photo]) -> QuerySet[Photo]:
    """Those of ``photos`` with flags awaiting review, as the reader seeing ``visible`` is shown them.

    Processed, not reviewed yet, and with a flag of their own or a duplicate
    flag naming a photo the reader may be told of: a photo whose only flag
    names a visit still under way awaits nobody's review but its team's
    organisers'. One query (the photos whose only flags name others), and
    one more when there are some.
    """
    unreviewed = photos.filter(status=Photo.Status.READY, flags_reviewed_at__isnull=True).exclude(flags=[])
    naming = list(unreviewed.exclude(has_own_flag()).only("pk", "flags"))
    shown = photos_with_flags_shown(naming, visible=visible) if naming else []
    return unreviewed.filter(has_own_flag() | Q(pk__in=shown))


def _for_reader(
    stored: dict[str, Any], *, seen: set[str], mentionable: set[str], original: bool
) -> dict[str, Any] | None:
    code = stored.get("code", "")
    params = dict(stored.get("params", {}))
    if code in DUPLICATE_CODES:
        # The first match the reader may be told of; a photo of a visit under way that the
        # reader may not see is passed over as if it did not exist.
        told = [ref for ref in _matches(stored) if str(ref.get("photo") or "") in mentionable]
        if not told:
            return None
        params = dict(told[0])
        if str(params["photo"]) not in seen:
            params = {"distance": params["distance"]} if "distance" in params else {}
    if not original:
        for name in METADATA_FACTS.get(code, ()):
            params.pop(name, None)
    return {"code": code, "params": params}
