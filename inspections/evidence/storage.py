"""Where the bytes of photos go: written atomically under their final name, never removed on doubt.

An original is stored as ``photos/originals/<client uuid>-<sha256>.<ext>``: the
name follows from what the phone sends, so a retry of the same photo arrives
at the same name and reuses it instead of making a second file (the storage
never picks a random suffix). On the local disk the bytes go to a temporary
file under ``photos/incoming/`` first, are flushed to the disk, then renamed
over the final name: a reader sees the whole file or none, and a request
killed halfway leaves only a temporary file. On object storage (S3) one PUT
is atomic by itself; an object already under the final name is kept.

Nothing here deletes an original after its name may have reached the
database: only the reconciler (:mod:`inspections.evidence.reconcile`) does,
once no row refers to the file and it is older than the grace period.

A write the storage refuses is a :class:`~inspections.evidence.errors.StorageFull`
(no space left, 507) or a :class:`~inspections.evidence.errors.StorageUnavailable`
(read-only, an I/O error, 503); the temporary file is removed. On object storage
the same holds for botocore's errors: a quota or "storage full" answer is 507,
anything else (unreachable, timed out, refused credentials, a 5xx) is 503.

On object storage the SHA-256 is computed from the bytes as they are read from
the request, before the PUT, and the name carries it; an object already under
that name is kept (same name, same bytes). django-storages uploads with
boto3's managed transfer, which checks each part's integrity on the way.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast
from uuid import UUID

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.translation import gettext_lazy as _

from inspections.evidence.errors import PhotoIncomplete, StorageFull, StorageUnavailable

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
ORIGINALS = "photos/originals"
RENDITIONS = "photos/renditions"
INCOMING = "photos/incoming"
TEMPORARY_SUFFIX = ".part"
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# What S3-compatible servers answer when a bucket or the cluster has no room: AWS has no such
# limit, MinIO says XMinioStorageFull, Ceph RGW and others QuotaExceeded (or 507 itself).
_FULL_S3_CODES = {
    "QuotaExceeded",
    "XMinioStorageFull",
    "XMinioAdminBucketQuotaExceeded",
    "InsufficientStorage",
}
# Every error the storage may raise on a read or a write: the local disk's and botocore's.
STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError, BotoCoreError, ClientError)


@dataclass(frozen=True)
class Stored:
    name: str
    sha256: str
    size: int


def original_name(client_uuid: UUID, sha256: str, extension: str) -> str:
    """The final name of an original: a function of the photo's UUID and its bytes."""
    return f"{ORIGINALS}/{client_uuid}-{sha256}{extension}"


def storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the storage has no room (a full disk, a quota, a full object store)."""
    if isinstance(exc, OSError):
        return exc.errno in _FULL
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error.get("Code") in _FULL_S3_CODES or status == 507
    return False


def stored_file_open(field: Any) -> IO[bytes]:
    """Open a stored file (an original or a rendition) for reading; :class:`StorageUnavailable`
    (503, ``Retry-After``) when the storage cannot give it: unreachable, unmounted, an I/O
    error. A file a row names is never removed while the row exists, so a failed read is the
    storage's trouble, not a missing photo."""
    try:
        return cast(IO[bytes], field.open("rb"))
    except STORAGE_ERRORS as exc:
        logger.warning("media storage refused a read of %s: %s", getattr(field, "name", "?"), exc)
        raise StorageUnavailable(_("The photo storage is unavailable; try again later.")) from exc


def storage_error(exc: BaseException) -> StorageFull | StorageUnavailable:
    """The refusal for a write the storage failed: 507 when it is full, else 503."""
    logger.warning("media storage refused a write: %s", exc)
    if storage_full(exc):
        return StorageFull()
    return StorageUnavailable()


def _local(storage: Storage) -> FileSystemStorage | None:
    return storage if isinstance(storage, FileSystemStorage) else None


def _chunks(file: IO[bytes]) -> Iterable[bytes]:
    file.seek(0)
    while data := file.read(CHUNK):
        yield data


def _write_local(storage: FileSystemStorage, chunks: Iterable[bytes]) -> tuple[Path, str, int]:
    """Write ``chunks`` to a new temporary file under ``photos/incoming/``; its path, SHA-256 and size."""
    incoming = Path(storage.path(INCOMING))
    incoming.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=incoming, suffix=TEMPORARY_SUFFIX)
    path = Path(temporary)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(descriptor, "wb") as out:
            for data in chunks:
                digest.update(data)
                out.write(data)
                size += len(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return path, digest.hexdigest(), size


class IncomingOriginal(UploadedFile):
    """A multipart file part received straight into a temporary file under ``photos/incoming/``.

    Its SHA-256 is computed as the bytes are written (one pass over them), and
    :func:`original_store` renames it to the final name instead of copying it.
    Closing it removes the temporary file unless it was renamed away: a refused
    upload leaves nothing, a killed process leaves a temporary file for the reconciler.
    """

    def __init__(
        self, storage: FileSystemStorage, *, name: str, content_type: str, charset: str | None
    ) -> None:
        incoming = Path(storage.path(INCOMING))
        incoming.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=incoming, suffix=TEMPORARY_SUFFIX)
        self._out = os.fdopen(descriptor, "w+b")
        super().__init__(self._out, name, content_type, 0, charset)
        self.storage = storage
        self.path: Path | None = Path(temporary)
        self._digest = hashlib.sha256()

    def append(self, data: bytes) -> None:
        self._out.write(data)
        self._digest.update(data)

    def finish(self, size: int) -> None:
        """The part is whole: flush it to the disk and rewind it for reading."""
        self.size = size
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.seek(0)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._out.close()
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self.path = None


class IncomingOriginalHandler(FileUploadHandler):
    """Django's upload handler writing each file part into an :class:`IncomingOriginal`.

    Only for the local disk (:func:`incoming_handler`). A write the disk refuses is
    :func:`storage_error`'s 507 or 503, and what was written is removed.
    """

    chunk_size = CHUNK

    def __init__(self, storage: FileSystemStorage, request: Any = None) -> None:
        super().__init__(request)
        self.storage = storage
        self.files: list[IncomingOriginal] = []

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        try:
            self.file = IncomingOriginal(
                self.storage,
                name=self.file_name or "",
                content_type=self.content_type or "",
                charset=self.charset,
            )
        except STORAGE_ERRORS as exc:
            raise storage_error(exc) from exc
        self.files.append(self.file)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        try:
            self.file.append(raw_data)
        except STORAGE_ERRORS as exc:
            raise storage_error(exc) from exc

    def file_complete(self, file_size: int) -> IncomingOriginal:
        try:
            self.file.finish(file_size)
        except STORAGE_ERRORS as exc:
            raise storage_error(exc) from exc
        return cast(IncomingOriginal, self.file)

    def discard(self) -> None:
        """Remove the files of a request whose body could not be read whole."""
        for file in self.files:
            file.close()

    def upload_interrupted(self) -> None:
        self.discard()


def incoming_handler(
    request: Any = None, *, storage: Storage | None = None
) -> IncomingOriginalHandler | None:
    """The upload handler receiving originals in one pass on the local disk; None on object storage."""
    local = _local(storage or default_storage)
    return IncomingOriginalHandler(local, request) if local is not None else None


def _publish_local(storage: FileSystemStorage, temporary: Path, name: str) -> None:
    """Rename the temporary file over ``name`` (atomic on one file system) and make the rename durable."""
    final = Path(storage.path(name))
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, final)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    with contextlib.suppress(OSError):
        directory = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def original_store(
    file: IO[bytes], *, client_uuid: UUID, extension: str, size: int, storage: Storage | None = None
) -> Stored:
    """Store the bytes of ``file`` as the original of ``client_uuid``; 400 if they are not ``size`` bytes.

    Storing the same photo twice gives the same name and one file.
    """
    storage = storage or default_storage
    try:
        local = _local(storage)
        if isinstance(file, IncomingOriginal) and file.storage is local and file.path is not None:
            # Received, hashed and flushed already: renamed to its final name, not copied.
            if file.size != size:
                raise PhotoIncomplete
            name = original_name(client_uuid, file.sha256, extension)
            temporary, file.path = file.path, None  # _publish_local removes it if the rename fails
            _publish_local(local, temporary, name)
            return Stored(name=name, sha256=file.sha256, size=size)
        if local is not None:
            temporary, sha256, received = _write_local(local, _chunks(file))
            if received != size:
                temporary.unlink(missing_ok=True)
                raise PhotoIncomplete
            name = original_name(client_uuid, sha256, extension)
            _publish_local(local, temporary, name)
            return Stored(name=name, sha256=sha256, size=received)
        digest = hashlib.sha256()
        received = 0
        for data in _chunks(file):
            digest.update(data)
            received += len(data)
        if received != size:
            raise PhotoIncomplete
        name = original_name(client_uuid, digest.hexdigest(), extension)
        saved = name
        if not storage.exists(name):
            file.seek(0)
            saved = storage.save(name, File(file, name=name.rsplit("/", 1)[-1]))
        if saved != name:
            # The same photo was stored under its name by another request in between, so the
            # storage picked a free name for this copy: the one under the final name stays.
            storage.delete(saved)
        return Stored(name=name, sha256=digest.hexdigest(), size=received)
    except STORAGE_ERRORS as exc:
        raise storage_error(exc) from exc


def original_restore(file: IO[bytes], *, name: str, storage: Storage | None = None) -> bool:
    """Write ``file`` under ``name`` if no file is there (a replay of a photo whose original went
    missing); whether it was written."""
    storage = storage or default_storage
    try:
        if storage.exists(name):
            return False
        local = _local(storage)
        if local is not None:
            temporary, _sha256, _size = _write_local(local, _chunks(file))
            _publish_local(local, temporary, name)
        else:
            file.seek(0)
            storage.save(name, File(file, name=name.rsplit("/", 1)[-1]))
        logger.warning("original %s was missing; restored from a replay of the same bytes", name)
        return True
    except STORAGE_ERRORS as exc:
        raise storage_error(exc) from exc


def rendition_store(name: str, data: bytes, *, storage: Storage | None = None) -> str:
    """Write a rendition under ``name``, replacing what is there (renditions are derived).

    Two runs at once (a redelivered task beside the first) both write the
    same name: the last rename wins, and no second file appears.
    """
    storage = storage or default_storage
    local = _local(storage)
    if local is not None:
        temporary, _sha256, _size = _write_local(local, [data])
        _publish_local(local, temporary, name)
        return name
    # delete() of a missing object is no error on S3, and the save then finds the name free.
    storage.delete(name)
    return storage.save(name, ContentFile(data))


def storage_probe(*, storage: Storage | None = None) -> str:
    """``"ok"``, ``"full"`` or ``"unavailable"``: whether the media storage takes a write now.

    On the local disk a byte is written, flushed and removed under ``photos/incoming/``,
    and the disk is full when it has less room than one photo of the largest size
    (``QINGSHAN_PHOTO_MAX_BYTES``); on object storage a listing is asked for.
    """
    storage = storage or default_storage
    local = _local(storage)
    try:
        if local is None:
            storage.listdir(ORIGINALS)
            return "ok"
        temporary, _sha256, _size = _write_local(local, [b"\0"])
        temporary.unlink()
        if shutil.disk_usage(local.location).free < settings.QINGSHAN_PHOTO_MAX_BYTES:
            return "full"
    except FileNotFoundError:
        return "ok" if local is None else "unavailable"
    except OSError as exc:
        return "full" if exc.errno in _FULL else "unavailable"
    except Exception:
        logger.exception("readiness: media storage check failed")
        return "unavailable"
    return "ok"
