"""The media reconciler: files no row refers to, removed once they are older than the grace period.

The upload path never deletes a stored original when something goes wrong
after it was written (the row may exist even though the request failed), and
processing overwrites renditions under fixed names. What is left over by a
killed web worker, a killed or duplicated processing run or a refused upload
is found here:

* ``photos/originals/``, ``photos/renditions/``: a file that no photo names
  (``original``, ``thumbnail``, ``preview``);
* ``photos/incoming/``: temporary files of originals and renditions being
  written (a finished write renames them away);
* the tus staging folder (``QINGSHAN_TUS_UPLOAD_DIR``): ``<id>.part`` and
  ``<id>.lock`` of uploads that no longer exist, or that already made their photo;
  and the same for the staged parts in the storage (``photos/staging/<id>/<offset>``);
* Django's temporary upload files (``FILE_UPLOAD_TEMP_DIR``).

Only files last modified before ``now - QINGSHAN_MEDIA_ORPHAN_GRACE`` are
touched, so a request still writing (its row not committed yet) keeps its
file. A file is removed only after the database says that no row refers to
it, asked for each file just before it goes.

The storage is Django's default storage: the local media folder, or a bucket
(S3): the same walk, listing objects by prefix, with their LastModified as
their age. Errors of either (``OSError``, botocore's) are counted, not raised.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.db.models import Q
from django.utils import timezone

from inspections.evidence import storage as media
from inspections.evidence import tus_staging
from inspections.evidence.models import Photo, Upload

logger = logging.getLogger(__name__)


@dataclass
class Reconciliation:
    """What a run found and removed, by place; ``dry_run`` removes nothing."""

    dry_run: bool = False
    examined: int = 0
    removed: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def note(self, place: str, name: str) -> None:
        self.removed.setdefault(place, []).append(name)

    @property
    def removed_count(self) -> int:
        return sum(len(names) for names in self.removed.values())

    def summary(self) -> dict[str, int]:
        return {place: len(names) for place, names in sorted(self.removed.items())}


def _walk(storage: Storage, folder: str) -> Iterator[str]:
    """Every file name under ``folder`` in ``storage``, recursively."""
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for directory in directories:
        yield from _walk(storage, f"{folder}/{directory}")


def _upload_orphan(upload_id: str) -> bool:
    """Whether the upload ``upload_id`` is gone or has made its photo (its staged bytes are done)."""
    try:
        key = uuid.UUID(upload_id)
    except ValueError:
        return False
    upload = Upload.objects.filter(pk=key).only("pk", "photo_id").first()
    return upload is None or upload.photo_id is not None


def _referenced(name: str) -> bool:
    return Photo.objects.filter(Q(original=name) | Q(thumbnail=name) | Q(preview=name)).exists()


def _old(modified: datetime, cutoff: datetime) -> bool:
    return modified < cutoff


def _storage_files(result: Reconciliation, storage: Storage, cutoff: datetime) -> None:
    for folder, place in ((media.ORIGINALS, "originals"), (media.RENDITIONS, "renditions")):
        for name in _walk(storage, folder):
            result.examined += 1
            try:
                if not _old(storage.get_modified_time(name), cutoff) or _referenced(name):
                    continue
                if not result.dry_run:
                    storage.delete(name)
            except media.STORAGE_ERRORS as exc:
                result.errors.append(f"{name}: {exc}")
                continue
            result.note(place, name)
    for name in _walk(storage, media.INCOMING):
        result.examined += 1
        try:
            if not _old(storage.get_modified_time(name), cutoff):
                continue
            if not result.dry_run:
                storage.delete(name)
        except media.STORAGE_ERRORS as exc:
            result.errors.append(f"{name}: {exc}")
            continue
        result.note("incoming", name)
    for name in _walk(storage, tus_staging.STAGING):
        result.examined += 1
        try:
            upload_id = name[len(tus_staging.STAGING) + 1 :].split("/", 1)[0]
            if not _old(storage.get_modified_time(name), cutoff) or not _upload_orphan(upload_id):
                continue
            if not result.dry_run:
                storage.delete(name)
        except media.STORAGE_ERRORS as exc:
            result.errors.append(f"{name}: {exc}")
            continue
        result.note("tus staging", name)


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.get_current_timezone())


def _staging_orphan(path: Path) -> bool:
    """A tus staging or lock file whose upload is gone, or has made its photo already."""
    if path.suffix not in (".part", ".lock"):
        return False
    return _upload_orphan(path.stem)


def _folder_files(
    result: Reconciliation, folder: Path | None, place: str, cutoff: datetime, tus: bool
) -> None:
    if folder is None or not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        result.examined += 1
        try:
            if not _old(_mtime(path), cutoff):
                continue
            if tus and not _staging_orphan(path):
                continue
            if not result.dry_run:
                path.unlink(missing_ok=True)
        except OSError as exc:
            result.errors.append(f"{path.name}: {exc}")
            continue
        result.note(place, path.name)


def media_reconcile(
    *, now: datetime | None = None, grace: timedelta | None = None, dry_run: bool = False
) -> Reconciliation:
    """Remove (or with ``dry_run`` only list) the files no row refers to, older than the grace period."""
    cutoff = (now or timezone.now()) - (grace if grace is not None else settings.QINGSHAN_MEDIA_ORPHAN_GRACE)
    result = Reconciliation(dry_run=dry_run)
    _storage_files(result, default_storage, cutoff)
    _folder_files(result, Path(settings.QINGSHAN_TUS_UPLOAD_DIR), "tus staging", cutoff, tus=True)
    temporary = settings.FILE_UPLOAD_TEMP_DIR
    _folder_files(result, Path(temporary) if temporary else None, "upload temporary", cutoff, tus=False)
    logger.info(
        "media reconciled%s: %d files examined, removed %s, %d errors",
        " (dry run)" if dry_run else "",
        result.examined,
        result.summary(),
        len(result.errors),
    )
    return result
