"""Resumable photo uploads: the tus 1.0 protocol's core, creation and termination.

Written here rather than taken from a package: the Django tus packages on PyPI
are either unmaintained (django-tus, last release 2020) or keep their own file
model and storage path, while we need the bytes hashed as they go to storage,
the content sniffed on the first bytes, per-user scoping and idempotency on the
photo's UUID, and the same :func:`~inspections.evidence.services.photo_receive`
as the multipart upload. The protocol surface this takes is small.

State survives a restart of every process: the offset is in the database
(:class:`~inspections.evidence.models.Upload`) and the bytes received so far are
staged by :mod:`inspections.evidence.tus_staging` (a file under
``QINGSHAN_TUS_UPLOAD_DIR``, or objects in the media storage so that any web
node resumes any upload). Bytes written by a request that died before it could
record them are simply received again. One request at a time appends to an
upload (a second gets 423 and retries).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO
from uuid import UUID

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.common.errors import DomainError
from inspections.common.idempotency import create_once, uuid_conflict
from inspections.evidence import imaging, tus_staging
from inspections.evidence import services as evidence
from inspections.evidence.errors import (
    InvalidUploadMetadata,
    OffsetMismatch,
    UploadEmpty,
    UploadExceedsLength,
)
from inspections.evidence.models import Photo, Upload

logger = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination"
CHUNK = 256 * 1024


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs; 400 if malformed."""
    metadata: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _sep, encoded = pair.partition(" ")
        try:
            value = base64.b64decode(encoded.strip(), validate=True).decode("utf-8") if encoded else ""
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidUploadMetadata from exc
        if not key or key in metadata:
            raise InvalidUploadMetadata(_("Upload-Metadata keys must be present and unique."))
        metadata[key] = value
    return metadata


# Metadata that may differ between two creations of the same upload: the phone's clock
# when sending (new on each retry) and the file name (a phone may rename its files).
NOT_CONTENT = frozenset({"device_time", "filename"})


def _content(metadata: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in metadata.items() if key not in NOT_CONTENT}


def staging_path(upload: Upload) -> Path:
    """The staging file of ``upload`` with the folder backend."""
    return tus_staging.folder_path(upload)


def upload_create(
    *, user: User, client_uuid: UUID, length: int, metadata: dict[str, str], raw_metadata: str
) -> tuple[Upload, bool]:
    """Create an upload, or return the one already made for this photo UUID (a replay).

    A replay is the same owner, length and metadata but for :data:`NOT_CONTENT`
    (the phone's clock when sending, the file name): it gets the existing upload
    with its true offset, and the metadata first given stay. A photo that
    already arrived (by tus, or by another channel) gets a finished upload, so a
    tus client that lost its state learns that there is nothing left to send;
    one that sends all the same is answered as done (:func:`upload_append`).
    """
    if length == 0:
        raise UploadEmpty
    evidence.photo_check_size(length)

    def same(existing: Upload) -> bool:
        return (
            existing.owner_id == user.pk
            and existing.length == length
            and _content(existing.metadata) == _content(metadata)
        )

    def create() -> Upload:
        photo = Photo.objects.filter(client_uuid=client_uuid).first()
        if photo is not None and (photo.uploaded_by_id != user.pk or photo.size != length):
            raise uuid_conflict(client_uuid)
        return Upload.objects.create(
            client_uuid=client_uuid,
            owner=user,
            length=length,
            offset=length if photo is not None else 0,
            photo=photo,
            metadata=metadata,
            raw_metadata=raw_metadata,
            expires_at=timezone.now() + settings.QINGSHAN_TUS_EXPIRY,
        )

    return create_once(Upload, client_uuid=client_uuid, same=same, create=create)


def upload_append(
    *,
    upload: Upload,
    offset: int,
    read: Callable[[int], bytes],
    content_length: int | None,
    finish: Callable[[Upload, IO[bytes]], Photo],
) -> Upload:
    """Append a PATCH body at ``offset``; once complete, turn the bytes into a photo with ``finish``.

    ``read(n)`` returns up to ``n`` bytes of the body and ``b""`` (or raises
    ``OSError``) when the connection ends: whatever arrived before a cut is kept
    and its offset recorded, as tus expects.
    """
    with tus_staging.staging().exclusive(upload):
        upload.refresh_from_db()
        if upload.photo_id is not None and offset < upload.offset:
            # Done already: a client that lost its URL created the upload again and starts from 0
            # (tus clients assume a new upload is empty). Its bytes are read and dropped, and the
            # answer's full offset tells it there is nothing left to send.
            _discard(read=read, budget=upload.length - offset if content_length is None else content_length)
            return upload
        if offset != upload.offset:
            raise OffsetMismatch(given=offset, actual=upload.offset)
        remaining = upload.length - upload.offset
        if content_length is not None and content_length > remaining:
            raise UploadExceedsLength
        if remaining and upload.photo_id is None:
            written = _write(
                upload, read=read, budget=remaining if content_length is None else content_length
            )
            if written:
                Upload.objects.filter(pk=upload.pk, offset=upload.offset).update(
                    offset=upload.offset + written
                )
                upload.offset += written
        if upload.is_complete and upload.photo_id is None:
            _finish(upload, finish)
    return upload


def _discard(*, read: Callable[[int], bytes], budget: int) -> None:
    """Read and drop a body the upload does not need, so that the client reads the answer."""
    received = 0
    while received < budget:
        try:
            data = read(min(CHUNK, budget - received))
        except OSError:
            return
        if not data:
            return
        received += len(data)


def _write(upload: Upload, *, read: Callable[[int], bytes], budget: int) -> int:
    written = 0
    head = bytearray()  # the first bytes of the upload, sniffed as soon as there are enough
    with tus_staging.staging().appending(upload) as staged:
        while written < budget:
            try:
                data = read(min(CHUNK, budget - written))
            except OSError:
                logger.info("upload %s: connection ended after %d bytes", upload.pk, written)
                break
            if not data:
                break
            if upload.offset == 0 and len(head) < imaging.SNIFF_BYTES:
                head += data[: imaging.SNIFF_BYTES - len(head)]
                staged.write(data)
                written += len(data)
                _sniff_early(upload, bytes(head), written)
                continue
            staged.write(data)
            written += len(data)
    return written


def _sniff_early(upload: Upload, head: bytes, written: int) -> None:
    """Refuse a non-image as soon as its first bytes are in, not after the whole file."""
    if written < 12 and written < upload.length:
        return
    if imaging.sniff_content_type(head) is None:
        upload_terminate(upload=upload)
        evidence.photo_check_type(head)  # raises the 415


def _finish(upload: Upload, finish: Callable[[Upload, IO[bytes]], Photo]) -> None:
    staging = tus_staging.staging()
    try:
        with staging.assembled(upload) as staged:
            photo = finish(upload, staged)
    except DomainError as exc:
        # Refused as a photo (type, pixels, conflict): it can never succeed as sent. A dependency
        # that is down (storage full or unavailable: a retry_after) keeps the bytes for the retry,
        # an empty PATCH at the full offset.
        if exc.retry_after is None:
            upload_terminate(upload=upload)
        raise
    Upload.objects.filter(pk=upload.pk).update(photo=photo)
    upload.photo = photo
    staging.discard(upload)


def upload_terminate(*, upload: Upload) -> None:
    """Forget an upload and the bytes received for it (tus termination). A finished photo stays."""
    tus_staging.staging().discard(upload)
    Upload.objects.filter(pk=upload.pk).delete()


def uploads_expire(*, now: datetime | None = None) -> int:
    """Remove unfinished uploads past their expiry; the count removed."""
    moment = now or timezone.now()
    count = 0
    for upload in Upload.objects.filter(expires_at__lt=moment, photo__isnull=True).iterator():
        upload_terminate(upload=upload)
        count += 1
    return count
