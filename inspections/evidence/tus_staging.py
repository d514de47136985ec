"""Where the bytes of an unfinished tus upload wait: a local folder, or the media storage.

Two backends, chosen by ``QINGSHAN_TUS_STAGING``:

* ``folder``: one file per upload, ``<id>.part`` in ``QINGSHAN_TUS_UPLOAD_DIR``,
  cut back to the database's offset before each append, one appender at a time
  by an exclusive ``flock``. Every web process must see the same folder.
* ``storage``: one object per PATCH in the media storage (S3 in production),
  ``photos/staging/<upload id>/<offset, 14 digits>``, written whole once the
  PATCH's body is in (or cut: what arrived is kept). Any web node resumes any
  upload, and a node that dies loses nothing that was acknowledged: the offset
  is in the database and the bytes are in the bucket.

Why objects named by offset rather than an S3 multipart upload: a multipart
part must be at least 5 MiB (but the last), while a phone on a weak signal
sends far smaller pieces, and most photos are smaller than one part. Objects of
any size named by their offset have none of that limit. When the last byte is
in, the parts are read in order into a spooled temporary file (a photo is at
most ``QINGSHAN_PHOTO_MAX_BYTES``) and handed to the photo service, which
hashes the bytes and stores the original; then the parts are deleted.

A part is written before its offset is recorded. A request that dies in
between leaves a part the database does not count; the next PATCH starts at
the recorded offset, so it writes the same name over it. Assembly walks from
offset 0 by each part's size, so a part no walk reaches is never read; the
reconciler removes the parts of uploads that are gone or finished.

One request at a time appends to an upload. With PostgreSQL the lock is a
session-level advisory lock (``pg_try_advisory_lock``) on the upload's id:
shared by every node, and released by the server when a node's connection dies.
With SQLite (one machine) it is the ``flock`` of the folder backend.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import Storage, default_storage
from django.db import connection

from inspections.evidence import storage as media
from inspections.evidence.errors import UploadLocked
from inspections.evidence.models import Upload

logger = logging.getLogger(__name__)

STAGING = "photos/staging"
OFFSET_DIGITS = 14  # room for any offset below 10^14 bytes, and names sort as offsets
SPOOL_BYTES = 8 * 1024 * 1024


class Appender(Protocol):
    def write(self, data: bytes, /) -> int: ...


class Staging(Protocol):
    """What the tus protocol code needs of a staging place."""

    def exclusive(self, upload: Upload) -> contextlib.AbstractContextManager[None]: ...

    def appending(self, upload: Upload) -> contextlib.AbstractContextManager[Appender]: ...

    def assembled(self, upload: Upload) -> contextlib.AbstractContextManager[IO[bytes]]: ...

    def discard(self, upload: Upload) -> None: ...


def staging() -> Staging:
    """The configured staging backend."""
    if settings.QINGSHAN_TUS_STAGING == "storage":
        return StorageStaging(default_storage)
    return FolderStaging()


def _folder() -> Path:
    directory = Path(settings.QINGSHAN_TUS_UPLOAD_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def folder_path(upload: Upload) -> Path:
    return _folder() / f"{upload.pk}.part"


@contextlib.contextmanager
def _flock(upload: Upload) -> Iterator[None]:
    with open(folder_path(upload).with_suffix(".lock"), "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise UploadLocked from exc
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _advisory_key(upload: Upload) -> int:
    return int.from_bytes(upload.pk.bytes[:8], "big", signed=True)


@contextlib.contextmanager
def _advisory_lock(upload: Upload) -> Iterator[None]:
    key = _advisory_key(upload)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (taken,) = cursor.fetchone()
    if not taken:
        raise UploadLocked
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


class FolderStaging:
    """The bytes so far in ``<id>.part`` under ``QINGSHAN_TUS_UPLOAD_DIR``."""

    def exclusive(self, upload: Upload) -> contextlib.AbstractContextManager[None]:
        return _flock(upload)

    @contextlib.contextmanager
    def appending(self, upload: Upload) -> Iterator[Appender]:
        path = folder_path(upload)
        with open(path, "r+b" if path.exists() else "w+b") as staged:
            staged.truncate(upload.offset)  # drop bytes a dead request wrote but never recorded
            staged.seek(upload.offset)
            try:
                yield staged
            finally:
                staged.flush()
                os.fsync(staged.fileno())

    @contextlib.contextmanager
    def assembled(self, upload: Upload) -> Iterator[IO[bytes]]:
        with open(folder_path(upload), "rb") as staged:
            yield staged

    def discard(self, upload: Upload) -> None:
        path = folder_path(upload)
        path.unlink(missing_ok=True)
        path.with_suffix(".lock").unlink(missing_ok=True)


def part_name(upload: Upload, offset: int) -> str:
    return f"{STAGING}/{upload.pk}/{offset:0{OFFSET_DIGITS}d}"


class StorageStaging:
    """One object per PATCH under ``photos/staging/<id>/``, named by the offset it starts at."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def exclusive(self, upload: Upload) -> contextlib.AbstractContextManager[None]:
        if connection.vendor == "postgresql":
            return _advisory_lock(upload)
        return _flock(upload)

    @contextlib.contextmanager
    def appending(self, upload: Upload) -> Iterator[Appender]:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as buffer:
            try:
                yield buffer
            finally:
                if buffer.tell():
                    self._put(part_name(upload, upload.offset), buffer)

    def _put(self, name: str, buffer: IO[bytes]) -> None:
        buffer.seek(0)
        try:
            self.storage.delete(name)  # a part a dead request left at this offset
            saved = self.storage.save(name, File(buffer, name=name.rsplit("/", 1)[-1]))
        except media.STORAGE_ERRORS as exc:
            raise media.storage_error(exc) from exc
        if saved != name:  # another request wrote the same name in between: the lock says never
            self.storage.delete(saved)
            raise UploadLocked

    def parts(self, upload: Upload) -> dict[int, str]:
        """The staged parts of ``upload`` by the offset they start at."""
        folder = f"{STAGING}/{upload.pk}"
        try:
            _directories, files = self.storage.listdir(folder)
        except FileNotFoundError:
            return {}
        return {int(name): f"{folder}/{name}" for name in files if name.isdigit()}

    @contextlib.contextmanager
    def assembled(self, upload: Upload) -> Iterator[IO[bytes]]:
        try:
            parts = self.parts(upload)
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as whole:
                offset = 0
                while offset < upload.length:
                    name = parts.get(offset)
                    if name is None:
                        raise media.StorageUnavailable  # a recorded part is not (yet) readable
                    with self.storage.open(name, "rb") as part:
                        for data in iter(lambda: part.read(media.CHUNK), b""):
                            whole.write(data)
                    offset = whole.tell()
                whole.truncate(upload.length)
                whole.seek(0)
                yield whole
        except media.STORAGE_ERRORS as exc:
            raise media.storage_error(exc) from exc

    def discard(self, upload: Upload) -> None:
        try:
            for name in self.parts(upload).values():
                self.storage.delete(name)
        except media.STORAGE_ERRORS:
            logger.warning("upload %s: staged parts not removed now; the reconciler will", upload.pk)
        _flock_path = folder_path(upload).with_suffix(".lock")
        _flock_path.unlink(missing_ok=True)
