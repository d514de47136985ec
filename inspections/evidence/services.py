"""Photo evidence: receiving originals, processing them, and the evidence checks.

Receiving (:func:`photo_receive`) is the one path for multipart and tus
uploads alike: it refuses what is too large (413), not an accepted image type
whatever its name (415) or a decompression bomb / unreadable header (422);
then it streams the bytes to storage computing their SHA-256 on the way, and
creates the :class:`Photo` once per client UUID. Processing
(:func:`photo_process`, run by the ``inspections.photo_process`` task on the
media queue) reads EXIF, renders the thumbnail and preview, computes the
perceptual hash and sets the flags (:mod:`inspections.evidence.flags`); it
never touches the original. Refusals are the :mod:`inspections.evidence.errors`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import IO
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.models import Case, CaseStatus
from inspections.cases.services.rectification import rectification_flags_refresh
from inspections.common.dispatch import enqueue_on_commit_or_sweep
from inspections.common.idempotency import create_once, uuid_conflict
from inspections.evidence import imaging, storage
from inspections.evidence.errors import (
    CaseClosedToPhotos,
    PhotoTooLarge,
    PhotoTooManyPixels,
    PhotoUnreadable,
    UnsupportedPhotoType,
)
from inspections.evidence.flags import evidence_flags, photos_with_flags_shown
from inspections.evidence.models import Photo
from inspections.evidence.selectors import rectifications_naming, visible_photos
from inspections.fieldwork.models import Inspection
from inspections.fieldwork.services import inspection_lock_for_change

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024


# --- Receiving -----------------------------------------------------------------


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
    # When device_time reached the server, if not with the photo's last bytes (a tus creation).
    device_time_received_at: datetime | None = None
    case: Case | None = None

    def __post_init__(self) -> None:
        if (self.inspection is None) == (self.case is None):
            raise ValueError("A photo belongs to exactly one of an inspection and a case.")


def photo_check_size(size: int) -> None:
    """Refuse (413 ``photo_too_large``) a photo larger than ``QINGSHAN_PHOTO_MAX_BYTES``."""
    if size > settings.QINGSHAN_PHOTO_MAX_BYTES:
        raise PhotoTooLarge(size)


def photo_check_type(head: bytes) -> str:
    """The content type the bytes announce; 415 ``unsupported_photo_type`` if none we accept."""
    content_type = imaging.sniff_content_type(head)
    if content_type is None:
        raise UnsupportedPhotoType
    return content_type


def photo_receive(
    *, user: User, file: IO[bytes], size: int, fields: PhotoFields, channel: str
) -> tuple[Photo, bool]:
    """Validate, store and record a photo; a replay of the same UUID and bytes returns the first one.

    ``file`` must be seekable (Django's uploaded file, or the tus staging file).
    """
    photo_check_size(size)
    # Whether the UUID is taken, a statement of no columns (a new photo's, the common case: a
    # SELECT of the photo's 46 columns took twice as long to build); the row only for a replay.
    taken = Photo.objects.filter(client_uuid=fields.client_uuid).order_by()
    existing = next(iter(taken[:1]), None) if taken.exists() else None
    if existing is not None:
        # A replay: compare without storing anything.
        sha256 = file.sha256 if isinstance(file, storage.IncomingOriginal) else sha256_of(file)
        if not _same_photo(existing, fields=fields, sha256=sha256, user=user):
            raise uuid_conflict(fields.client_uuid)
        # The same bytes again: if the original went missing, this is the moment to restore it.
        storage.original_restore(file, name=existing.original.name)
        return existing, False

    file.seek(0)
    content_type = photo_check_type(file.read(imaging.SNIFF_BYTES))
    file.seek(0)
    try:
        width, height = imaging.read_header(file, content_type=content_type)
    except imaging.TooManyPixels as exc:
        raise PhotoTooManyPixels from exc
    except imaging.HeaderError as exc:
        raise PhotoUnreadable from exc

    extension = imaging.ACCEPTED_TYPES[content_type][1]
    # Under its final name before the row exists: a retry of the same photo reuses the file.
    stored = storage.original_store(file, client_uuid=fields.client_uuid, extension=extension, size=size)
    sha256 = stored.sha256

    def create() -> Photo:
        photo = Photo.objects.create(
            client_uuid=fields.client_uuid,
            inspection=fields.inspection,
            case=fields.case,
            purpose=fields.purpose,
            uploaded_by=user,
            channel=channel,
            original=stored.name,
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
            device_time_received_at=fields.device_time_received_at,
        )
        if locked:
            locked[0].mark_started(row_locked=True)
        photo_id = photo.pk
        # Never waits on the broker: a bounded publish once committed; the sweeper sends what was not.
        enqueue_on_commit_or_sweep("inspections.photo_process", photo_id)
        return photo

    locked: list[Inspection] = []

    def before_insert() -> None:
        inspection = _lock_owner_for_change(fields)
        if inspection is not None:
            locked.append(inspection)

    # No file is deleted here, whatever happens: after an error the row may exist
    # all the same (a commit whose answer was lost). The reconciler removes
    # originals that no row refers to once the grace period has passed.
    return create_once(
        Photo,
        client_uuid=fields.client_uuid,
        same=lambda p: _same_photo(p, fields=fields, sha256=sha256, user=user),
        create=create,
        before_insert=before_insert,
        read_first=False,  # looked for above, before storing anything
    )


def _lock_owner_for_change(fields: PhotoFields) -> Inspection | None:
    """Lock what the photo belongs to; refuse if it no longer takes photos. The locked inspection, if any."""
    if fields.inspection is not None:
        return inspection_lock_for_change(fields.inspection)
    assert fields.case is not None
    locked = Case.objects.select_for_update().get(pk=fields.case.pk)
    if locked.status == CaseStatus.CLOSED:
        raise CaseClosedToPhotos
    return None


def _same_photo(photo: Photo, *, fields: PhotoFields, sha256: str, user: User) -> bool:
    # Not compared: device_time (the clock when sending, new on each retry) and the file name.
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
    return f"{storage.RENDITIONS}/{photo.client_uuid}-{kind}.jpg"


def _save_rendition(photo: Photo, kind: str, data: bytes) -> str:
    # Renditions are derived and deterministic: a second run replaces them under the same name.
    return storage.rendition_store(_rendition_name(photo, kind), data)


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
    village = photo.village
    if facts.gps is not None and village is not None:
        photo.distance_m = village.distance_m(longitude=facts.gps[0], latitude=facts.gps[1])
    photo.flags = evidence_flags(photo=photo, analysis=analysis)
    photo.status = Photo.Status.READY
    photo.processed_at = timezone.now()
    with transaction.atomic():
        photo.save(update_fields=PROCESSED_FIELDS)
        rectifications_refresh_for(photo)
    return photo


def rectifications_refresh_for(photo: Photo) -> int:
    """Recompute the after-photo flags of every rectification this processed photo bears on.

    The one call from evidence into the cases area's services: a rectification's
    flags depend on the facts of its photos, known only once they are processed.
    """
    count = 0
    for rectification in rectifications_naming(photo.client_uuid).order_by("pk"):
        rectification_flags_refresh(rectification=rectification)
        count += 1
    return count


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


def photo_flags_mark_reviewed_as_shown(
    *, photos: QuerySet[Photo], actor: User, visible_cases: QuerySet[Case], now: datetime | None = None
) -> int:
    """:func:`photo_flags_mark_reviewed` of those of ``photos`` with a flag the reviewer is shown.

    A photo whose only flag names a visit still under way is neither marked nor counted;
    ``visible_cases`` is the reviewer's list of problems (what their after-photos' flags may name).
    """
    flagged = photos_with_flags_shown(photos, visible=visible_photos(user=actor, visible_cases=visible_cases))
    return photo_flags_mark_reviewed(photos=Photo.objects.filter(pk__in=flagged), actor=actor, now=now)
