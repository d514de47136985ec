"""Photo evidence: receiving originals, processing them, and the evidence checks.

Receiving (:func:`photo_receive`) is the one path for multipart and tus
uploads alike: it refuses what is too large (413), not an accepted image type
whatever its name (415) or a decompression bomb / unreadable header (422);
then it streams the bytes to storage computing their SHA-256 on the way, and
creates the :class:`Photo` once per client UUID. Processing
(:func:`photo_process`, run by the ``inspections.photo_process`` task on the
media queue) reads EXIF, renders the thumbnail and preview, computes the
perceptual hash and sets the flags; it never touches the original.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from uuid import UUID

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.api.problems import Problem
from inspections.cases.models import Case, CaseStatus, Rectification
from inspections.common.dispatch import enqueue_on_commit
from inspections.common.idempotency import create_once
from inspections.evidence import imaging
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Finding, Inspection
from inspections.fieldwork.services import (
    inspection_lock_for_change,
    inspection_mark_started,
)

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024


# --- Receiving -----------------------------------------------------------------


class HashingFile(File):  # type: ignore[type-arg]
    """A file that computes the SHA-256 of the bytes as storage reads them.

    Storage backends read either with ``chunks()`` (the file system) or
    ``read()`` (S3); both go through :meth:`read`. A rewind starts over.
    """

    def __init__(self, file: IO[bytes], name: str) -> None:
        super().__init__(file, name)
        self.digest = hashlib.sha256()
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        assert self.file is not None
        data: bytes = self.file.read(size)
        self.digest.update(data)
        self.bytes_read += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset == 0 and whence == 0:
            self.digest = hashlib.sha256()
            self.bytes_read = 0
        assert self.file is not None
        position: int = self.file.seek(offset, whence)
        return position

    def chunks(self, chunk_size: int | None = None) -> Any:
        self.seek(0)
        while True:
            data = self.read(chunk_size or CHUNK)
            if not data:
                break
            yield data


def sha256_of(fileobj: IO[bytes]) -> str:
    fileobj.seek(0)
    digest = hashlib.sha256()
    while data := fileobj.read(CHUNK):
        digest.update(data)
    fileobj.seek(0)
    return digest.hexdigest()


@dataclass(frozen=True)
class PhotoFields:
    """What the phone says about a photo, besides its bytes.

    Exactly one of ``inspection`` (evidence of a visit) and ``case``
    (rectification after-photos, purpose ``after``) is given.
    """

    client_uuid: UUID
    inspection: Inspection | None
    purpose: str = Photo.Purpose.EVIDENCE
    original_name: str = ""
    client_taken_at: datetime | None = None
    client_longitude: float | None = None
    client_latitude: float | None = None
    device_time: datetime | None = None
    case: Case | None = None

    def __post_init__(self) -> None:
        if (self.inspection is None) == (self.case is None):
            raise ValueError("A photo belongs to exactly one of an inspection and a case.")


def _too_large(size: int) -> Problem:
    limit = settings.QINGSHAN_PHOTO_MAX_BYTES
    return Problem(
        status=413,
        code="photo_too_large",
        detail=str(
            _("The photo is %(size)d bytes; the limit is %(limit)d bytes.") % {"size": size, "limit": limit}
        ),
        extra={"max_bytes": limit},
    )


def photo_check_size(size: int) -> None:
    if size > settings.QINGSHAN_PHOTO_MAX_BYTES:
        raise _too_large(size)


def photo_check_type(head: bytes) -> str:
    """The content type the bytes announce; 415 ``unsupported_photo_type`` if none we accept."""
    content_type = imaging.sniff_content_type(head)
    if content_type is None:
        raise Problem(
            status=415,
            code="unsupported_photo_type",
            detail=str(
                _("Only JPEG, HEIC/HEIF, PNG and WebP photos are accepted; this file is none of them.")
            ),
        )
    return content_type


def _header_problem(code: str) -> Problem:
    if code == "photo_too_many_pixels":
        return Problem(
            status=422,
            code=code,
            detail=str(
                _("The photo has more than %(limit)d pixels.") % {"limit": settings.QINGSHAN_PHOTO_MAX_PIXELS}
            ),
            extra={"max_pixels": settings.QINGSHAN_PHOTO_MAX_PIXELS},
        )
    return Problem(
        status=422,
        code="photo_unreadable",
        detail=str(_("The file looks like an image but its header cannot be read: it is corrupt.")),
    )


def photo_receive(
    *, user: User, file: IO[bytes], size: int, fields: PhotoFields, channel: str
) -> tuple[Photo, bool]:
    """Validate, store and record a photo; a replay of the same UUID and bytes returns the first one.

    ``file`` must be seekable (Django's uploaded file, or the tus staging file).
    """
    photo_check_size(size)
    existing = Photo.objects.filter(client_uuid=fields.client_uuid).first()
    if existing is not None:
        # A replay: compare without storing anything.
        sha256 = sha256_of(file)
        if not _same_photo(existing, fields=fields, sha256=sha256, user=user):
            from inspections.common.idempotency import uuid_conflict

            raise uuid_conflict(fields.client_uuid)
        return existing, False

    file.seek(0)
    content_type = photo_check_type(file.read(imaging.SNIFF_BYTES))
    file.seek(0)
    try:
        width, height = imaging.read_header(file, content_type=content_type)
    except imaging.HeaderError as exc:
        raise _header_problem(exc.code) from exc

    extension = imaging.ACCEPTED_TYPES[content_type][1]
    hashing = HashingFile(file, name=f"{fields.client_uuid}{extension}")
    stored_name = default_storage.save(f"photos/originals/{fields.client_uuid}{extension}", hashing)
    sha256 = hashing.digest.hexdigest()
    if hashing.bytes_read != size:
        default_storage.delete(stored_name)
        raise Problem(
            status=400,
            code="photo_incomplete",
            detail=str(_("Fewer bytes arrived than announced; send the photo again.")),
        )

    def create() -> Photo:
        photo = Photo.objects.create(
            client_uuid=fields.client_uuid,
            inspection=fields.inspection,
            case=fields.case,
            purpose=fields.purpose,
            uploaded_by=user,
            channel=channel,
            original=stored_name,
            original_name=fields.original_name[:255],
            content_type=content_type,
            size=size,
            sha256=sha256,
            width=width,
            height=height,
            received_at=timezone.now(),
            client_taken_at=fields.client_taken_at,
            client_longitude=fields.client_longitude,
            client_latitude=fields.client_latitude,
            device_time=fields.device_time,
        )
        if fields.inspection is not None:
            inspection_mark_started(fields.inspection)
        photo_id = photo.pk
        enqueue_on_commit("inspections.photo_process", photo_id)
        return photo

    try:
        photo, created = create_once(
            Photo,
            client_uuid=fields.client_uuid,
            same=lambda p: _same_photo(p, fields=fields, sha256=sha256, user=user),
            create=create,
            before_insert=lambda: _lock_owner_for_change(fields),
        )
    except BaseException:
        default_storage.delete(stored_name)
        raise
    if not created:
        default_storage.delete(stored_name)  # another request won the race with the same photo
    return photo, created


def _lock_owner_for_change(fields: PhotoFields) -> None:
    """Lock what the photo belongs to; refuse if it no longer takes photos."""
    if fields.inspection is not None:
        inspection_lock_for_change(fields.inspection)
        return
    assert fields.case is not None
    locked = Case.objects.select_for_update().get(pk=fields.case.pk)
    if locked.status == CaseStatus.CLOSED:
        raise Problem(
            status=409,
            code="case_closed",
            detail=str(_("This case is closed and takes no more photos.")),
        )


def _same_photo(photo: Photo, *, fields: PhotoFields, sha256: str, user: User) -> bool:
    return (
        photo.sha256 == sha256
        and photo.inspection_id == (fields.inspection.pk if fields.inspection is not None else None)
        and photo.case_id == (fields.case.pk if fields.case is not None else None)
        and photo.uploaded_by_id == user.pk
        and photo.purpose == fields.purpose
        and photo.client_taken_at == fields.client_taken_at
        and photo.client_longitude == fields.client_longitude
        and photo.client_latitude == fields.client_latitude
    )


# --- Processing ----------------------------------------------------------------


def _rendition_name(photo: Photo, kind: str) -> str:
    return f"photos/renditions/{photo.client_uuid}-{kind}.jpg"


def _save_rendition(photo: Photo, kind: str, data: bytes) -> str:
    name = _rendition_name(photo, kind)
    # Renditions are derived and deterministic: a second run replaces them.
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(data))


PROCESSED_FIELDS = [
    "has_exif",
    "taken_at",
    "taken_at_local",
    "taken_at_offset",
    "gps_longitude",
    "gps_latitude",
    "gps_accuracy_m",
    "gps_altitude_m",
    "make",
    "model",
    "software",
    "processing_error",
    "phash",
    "phash_band0",
    "phash_band1",
    "phash_band2",
    "phash_band3",
    "thumbnail",
    "preview",
    "distance_m",
    "flags",
    "status",
    "processed_at",
]


def photo_process(*, photo_id: int) -> Photo | None:
    """EXIF, renditions, perceptual hash, distance and flags; safe to run twice.

    A photo that is already processed is left alone; a photo that vanished (a
    message for a deleted row) is logged and skipped. Decoding problems are
    facts about the evidence (flag ``damaged``), not task failures.
    """
    photo = Photo.objects.select_related("inspection__village", "case__village").filter(pk=photo_id).first()
    if photo is None:
        logger.warning("photo %s no longer exists; nothing to process", photo_id)
        return None
    if photo.status == Photo.Status.READY:
        return photo

    with photo.original.open("rb") as original:
        try:
            analysis = imaging.analyse(original)  # type: ignore[arg-type]
        except imaging.IMAGE_ERRORS as exc:
            analysis = imaging.Analysis(
                width=photo.width or 0, height=photo.height or 0, exif=imaging.ExifFacts()
            )
            analysis.damaged = True
            analysis.extra["error"] = f"{type(exc).__name__}: {exc}"[:300]

    facts = analysis.exif
    photo.has_exif = facts.has_exif
    photo.taken_at = facts.taken_at
    photo.taken_at_local = facts.taken_at_local
    photo.taken_at_offset = facts.taken_at_offset
    photo.gps_longitude, photo.gps_latitude = facts.gps if facts.gps else (None, None)
    photo.gps_accuracy_m = facts.gps_accuracy_m
    photo.gps_altitude_m = facts.gps_altitude_m
    photo.make, photo.model, photo.software = facts.make, facts.model, facts.software
    photo.processing_error = analysis.extra.get("error", "")
    if analysis.phash is not None:
        photo.phash = imaging.phash_to_db(analysis.phash)
        photo.phash_band0, photo.phash_band1, photo.phash_band2, photo.phash_band3 = imaging.phash_bands(
            analysis.phash
        )
    if analysis.thumbnail is not None and analysis.preview is not None:
        photo.thumbnail.name = _save_rendition(photo, "thumbnail", analysis.thumbnail)
        photo.preview.name = _save_rendition(photo, "preview", analysis.preview)
    photo.distance_m = None
    village = _village_of(photo)
    if facts.gps is not None and village is not None:
        photo.distance_m = village.distance_m(longitude=facts.gps[0], latitude=facts.gps[1])
    photo.flags = evidence_flags(photo=photo, analysis=analysis)
    photo.status = Photo.Status.READY
    photo.processed_at = timezone.now()
    with transaction.atomic():
        photo.save(update_fields=PROCESSED_FIELDS)
        rectifications_refresh_for(photo)
    return photo


def _village_of(photo: Photo) -> Any:
    if photo.inspection is not None:
        return photo.inspection.village
    if photo.case is not None:
        return photo.case.village
    return None


def rectifications_naming(photo_uuid: UUID | str) -> QuerySet[Rectification]:
    """The rectifications whose after-photos include this photo, or whose finding's before-photos do.

    One query: the ids named either way, as a union, so that on PostgreSQL
    each side is answered by JSON containment (``@>``) from its GIN index
    (migration 0010) instead of a scan of every finding and rectification.
    Databases without containment compare the quoted UUID in the stored JSON
    text, which for a UUID is just as exact.
    """
    key = str(photo_uuid)
    if connection.features.supports_json_field_contains:
        names = Q(photo_uuids__contains=[key])
    else:
        names = Q(photo_uuids__icontains=f'"{key}"')
    by_after = Rectification.objects.filter(names).order_by().values("pk")
    by_before = (
        Rectification.objects.filter(case__finding__in=Finding.objects.filter(names)).order_by().values("pk")
    )
    return Rectification.objects.filter(pk__in=by_after.union(by_before))


def rectifications_refresh_for(photo: Photo) -> int:
    """Recompute the after-photo flags of every rectification this processed photo bears on."""
    from inspections.cases.services.rectification import rectification_flags_refresh

    count = 0
    for rectification in rectifications_naming(photo.client_uuid).order_by("pk"):
        rectification_flags_refresh(rectification=rectification)
        count += 1
    return count


# --- Evidence checks -----------------------------------------------------------


def _flag(code: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "params": params}


def _photo_ref(other: Photo) -> dict[str, Any]:
    ref: dict[str, Any] = {"photo": str(other.client_uuid), "inspection": other.inspection_id}
    if other.case_id is not None:
        ref["case"] = other.case_id
    village = _village_of(other)
    if village is not None:
        ref["village"] = village.name
        ref["village_code"] = village.code
    return ref


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
        distance = (phash ^ imaging.phash_from_db(other)).bit_count()
        if distance <= max_distance:
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
    village = _village_of(photo)

    if analysis.damaged:
        flags.append(_flag("damaged"))
    if not facts.has_exif:
        flags.append(_flag("no_exif"))
    if facts.gps is None:
        flags.append(_flag("no_gps", invalid=facts.gps_invalid))
    elif photo.distance_m is not None and village is not None:
        radius = settings.QINGSHAN_GEOFENCE_RADIUS_M
        if photo.distance_m > radius:
            flags.append(
                _flag(
                    "far_from_village",
                    distance_m=round(photo.distance_m),
                    radius_m=round(radius),
                    village=village.name,
                )
            )
    if inspection is not None:
        tolerance = settings.QINGSHAN_EVIDENCE_WINDOW_TOLERANCE
        if facts.taken_at is not None and not (
            inspection.window_start - tolerance <= facts.taken_at <= inspection.window_end + tolerance
        ):
            flags.append(
                _flag(
                    "outside_window",
                    taken_at=facts.taken_at.isoformat(),
                    offset_known=bool(facts.taken_at_offset),
                    window_start=inspection.window_start.isoformat(),
                    window_end=inspection.window_end.isoformat(),
                    tolerance_minutes=int(tolerance.total_seconds() // 60),
                )
            )
    if photo.device_time is not None:
        skew = (photo.device_time - photo.received_at).total_seconds()
        if abs(skew) > settings.QINGSHAN_EVIDENCE_CLOCK_SKEW.total_seconds():
            flags.append(_flag("clock_skew", seconds=round(skew)))

    exact = (
        Photo.objects.select_related("inspection__village", "case__village")
        .filter(sha256=photo.sha256, pk__lt=photo.pk)
        .order_by("pk")
        .first()
    )
    if exact is not None:
        flags.append(_flag("exact_duplicate", **_photo_ref(exact)))
    if analysis.phash is not None:
        matches = near_duplicates(
            phash=analysis.phash,
            max_distance=settings.QINGSHAN_EVIDENCE_NEAR_DUPLICATE_DISTANCE,
            exclude_pk=photo.pk,
        )
        if matches:
            candidates = Photo.objects.select_related("inspection__village", "case__village").in_bulk(
                [pk for pk, _d in matches]
            )
            for pk, distance in matches:
                other = candidates[pk]
                if other.sha256 == photo.sha256:
                    continue  # the same file: an exact duplicate, told above when it came first
                flags.append(_flag("near_duplicate", distance=distance, **_photo_ref(other)))
                break
    if facts.software and _is_editor(facts.software):
        flags.append(_flag("edited", software=facts.software))
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
    if code == "far_from_village":
        return gettext("Taken %(distance)s m from %(village)s, beyond the %(radius)s m allowed.") % {
            "distance": p.get("distance_m"),
            "village": p.get("village"),
            "radius": p.get("radius_m"),
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
    if code == "clock_skew":
        seconds = int(p.get("seconds", 0))
        minutes = abs(seconds) // 60
        if seconds > 0:
            return gettext("The phone's clock was %(minutes)s min ahead of the server's.") % {
                "minutes": minutes
            }
        return gettext("The phone's clock was %(minutes)s min behind the server's.") % {"minutes": minutes}
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
    if code == "edited":
        return gettext("The EXIF names editing software: %(software)s.") % {"software": p.get("software")}
    return code


def photo_flags_explained(photo: Photo) -> list[dict[str, Any]]:
    return [
        {"code": f["code"], "explanation": flag_explanation(f), "facts": f.get("params", {})}
        for f in photo.flags
    ]


# --- Review ----------------------------------------------------------------------


def photo_flags_mark_reviewed(*, photos: QuerySet[Photo], actor: User, now: datetime | None = None) -> int:
    """Record that a reviewer has looked at the flags of these photos; returns how many were marked.

    Only processed photos with flags that are not reviewed yet are marked: a
    second run changes nothing, and the first reviewer and time are kept.
    """
    return (
        photos.filter(status=Photo.Status.READY, flags_reviewed_at__isnull=True)
        .exclude(flags=[])
        .update(flags_reviewed_at=now or timezone.now(), flags_reviewed_by=actor)
    )


# --- Periodic jobs, defined in code ------------------------------------------------
