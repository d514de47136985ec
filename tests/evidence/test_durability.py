"""Nothing acknowledged is lost: ambiguous commits, dependencies down, stuck photos, leftovers.

Faults are made where Django meets the database (the connection's commit, its
query wrapper, an unreachable database file or port) and the broker (a port
nobody listens on). The ones that need a proxy, a mounted file system or a
worker process are in ``tests/integration/test_upload_faults.py``.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone

from inspections.evidence import recovery, storage
from inspections.evidence.models import Photo, Upload
from inspections.evidence.reconcile import media_reconcile
from inspections.evidence.tasks import photo_process
from inspections.fieldwork.models import Inspection
from tests import builders
from tests.builders import camera_jpeg, upload
from tests.builders import inspector as team_member
from tests.conftest import assert_problem, client_for
from tests.faults import commit_then_lose_the_answer, drivers_own_error, unreachable_database

LATER = timedelta(minutes=1)


@pytest.fixture
def field() -> tuple[Any, Inspection, Any]:
    member = team_member()
    inspection = builders.inspection(team=[member])
    return member, inspection, client_for(member.user)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_bytes(photo: Photo) -> bytes:
    with photo.original.open("rb") as original:
        return original.read()


def media_files(media: Path) -> list[str]:
    return sorted(str(path.relative_to(media)) for path in media.rglob("*") if path.is_file())


def after_stuck_period() -> Any:
    return timezone.now() + settings.QINGSHAN_PHOTO_STUCK_AFTER + LATER


def age(path: Path, hours: float) -> None:
    moment = time.time() - hours * 3600
    os.utime(path, (moment, moment))


# --- 1. a commit whose answer is lost ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_a_lost_commit_answer_is_a_503_and_the_retry_finds_the_photo_with_its_original(
    field: Any, isolated_storage: Path
) -> None:
    _member, inspection, client = field
    content = camera_jpeg()
    photo_uuid = uuid.uuid4()

    with commit_then_lose_the_answer() as happened:
        lost = upload(client, inspection, content, client_uuid=photo_uuid)
    retried = upload(client, inspection, content, client_uuid=photo_uuid)

    assert happened()
    body = assert_problem(lost, 503, "database_unavailable")
    assert lost["Retry-After"] == "30" and body["retry_after"] == 30
    assert retried.status_code == 200, retried.content
    photo = Photo.objects.get()
    assert stored_bytes(photo) == content and photo.sha256 == sha256(content)
    assert media_files(isolated_storage) == [photo.original.name]
    # Nothing was published for the lost commit: the sweeper sends it.
    assert photo.status == Photo.Status.RECEIVED
    sweep = recovery.photos_sweep(now=after_stuck_period())
    assert (sweep.sent, Photo.objects.get().status) == (1, Photo.Status.READY)


def test_the_original_is_named_after_the_photo_and_its_bytes_and_a_second_write_reuses_it(
    isolated_storage: Path,
) -> None:
    import io

    content = camera_jpeg()
    photo_uuid = uuid.uuid4()

    first = storage.original_store(
        io.BytesIO(content), client_uuid=photo_uuid, extension=".jpg", size=len(content)
    )
    again = storage.original_store(
        io.BytesIO(content), client_uuid=photo_uuid, extension=".jpg", size=len(content)
    )

    assert first == again
    assert first.name == f"photos/originals/{photo_uuid}-{sha256(content)}.jpg"
    assert media_files(isolated_storage) == [first.name]  # no random suffix, no temporary file left
    assert (isolated_storage / first.name).read_bytes() == content


@pytest.mark.django_db
def test_a_replay_of_the_same_bytes_restores_an_original_that_went_missing(
    field: Any, isolated_storage: Path
) -> None:
    _member, inspection, client = field
    content = camera_jpeg()
    photo_uuid = uuid.uuid4()
    assert upload(client, inspection, content, client_uuid=photo_uuid).status_code == 201
    photo = Photo.objects.get()
    (isolated_storage / photo.original.name).unlink()

    replay = upload(client, inspection, content, client_uuid=photo_uuid)

    assert replay.status_code == 200
    assert stored_bytes(photo) == content


@pytest.mark.django_db
def test_a_multipart_upload_leaves_its_original_alone_and_a_refused_one_leaves_nothing(
    field: Any, isolated_storage: Path
) -> None:
    # The file part is received into photos/incoming/ and renamed to its final name: on a
    # refusal after it arrived whole (not an image, another UUID's bytes, an inspection not
    # the caller's) the temporary file goes with the request.
    _member, inspection, client = field
    content = camera_jpeg()
    photo_uuid = uuid.uuid4()
    assert upload(client, inspection, content, client_uuid=photo_uuid).status_code == 201
    photo = Photo.objects.get()
    assert media_files(isolated_storage) == [photo.original.name]
    assert stored_bytes(photo) == content and photo.sha256 == sha256(content)

    assert_problem(upload(client, inspection, b"not an image at all" * 100), 415, "unsupported_photo_type")
    other_bytes = upload(client, inspection, camera_jpeg(seed=2), client_uuid=photo_uuid)
    assert_problem(other_bytes, 409, "uuid_conflict")
    elsewhere = builders.inspection(team=[team_member()])
    assert_problem(upload(client, elsewhere, content), 404, "not_found")
    assert upload(client, inspection, content, client_uuid=photo_uuid).status_code == 200

    assert media_files(isolated_storage) == [photo.original.name]
    assert Photo.objects.count() == 1


# --- 4. dependencies down ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_with_the_database_unreachable_the_api_answers_503_database_unavailable(field: Any) -> None:
    _member, inspection, client = field
    content = camera_jpeg()
    with unreachable_database():
        response = upload(client, inspection, content)

    body = assert_problem(response, 503, "database_unavailable")
    assert response["Retry-After"] == str(body["retry_after"])
    assert upload(client, inspection, content).status_code == 201


@pytest.mark.django_db
def test_the_drivers_own_connection_error_is_a_503_database_unavailable_too(field: Any) -> None:
    _member, inspection, client = field

    def cut(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise drivers_own_error("consuming input failed: server closed the connection unexpectedly")

    with connection.execute_wrapper(cut):
        response = client.get(f"/api/v1/inspections/{inspection.pk}/")

    body = assert_problem(response, 503, "database_unavailable")
    assert response["Retry-After"] == str(body["retry_after"])


@pytest.mark.django_db
def test_with_the_broker_refusing_the_upload_is_acknowledged_at_once_and_swept_later(
    field: Any, refusing_broker: None, django_capture_on_commit_callbacks: Any, eager_celery: Any
) -> None:
    _member, inspection, client = field
    content = camera_jpeg()
    eager_celery.conf.task_always_eager = False  # a real publish, to the refusing broker
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(client, inspection, content)
    elapsed = time.monotonic() - started

    assert response.status_code == 201, response.content
    assert len(callbacks) == 1 and elapsed < 10 * settings.QINGSHAN_PUBLISH_TIMEOUT_SECONDS
    photo = Photo.objects.get()
    assert photo.status == Photo.Status.RECEIVED and stored_bytes(photo) == content

    not_sent = recovery.photos_sweep(now=after_stuck_period())
    assert (not_sent.sent, not_sent.not_sent) == (0, 1)
    eager_celery.conf.task_always_eager = True  # the broker is back
    back = recovery.photos_sweep(now=after_stuck_period())
    assert (back.sent, Photo.objects.get().status) == (1, Photo.Status.READY)


# --- 2. processing retried, swept, counted -----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, drivers_own_error], ids=["django", "driver"])
def test_processing_retries_through_a_database_cut(field: Any, error: Any) -> None:
    photo = builders.photo(inspection=field[1], process=False)
    refused: list[str] = []

    def cut(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if len(refused) < 3:
            refused.append(sql)
            raise error("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    from config.celery import app

    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False  # each retry runs in turn, as a worker would run them
    try:
        with connection.execute_wrapper(cut):
            result = photo_process.apply(args=[photo.pk])
    finally:
        app.conf.task_eager_propagates = propagates

    assert result.successful(), result.traceback

    assert len(refused) == 3
    photo.refresh_from_db()
    assert photo.status == Photo.Status.READY


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_celery")
def test_the_sweeper_sends_stuck_photos_once_per_period_and_the_count_shows_them(
    field: Any, client: Any
) -> None:
    waiting = builders.photo(inspection=field[1], process=False)
    moment = after_stuck_period()
    fresh = timezone.now()
    assert recovery.photos_stuck(now=fresh).count() == 0
    assert recovery.photos_stuck(now=moment).count() == 1

    Photo.objects.filter(pk=waiting.pk).update(processing_resent_at=moment)
    assert recovery.photos_sweep(now=moment).sent == 0  # sent this period already
    readyz = client.get("/readyz").json()
    assert readyz["detail"]["photos_stuck"] == 0  # within the period: not stuck yet

    later = moment + settings.QINGSHAN_PHOTO_STUCK_AFTER + LATER
    assert recovery.photos_sweep(now=later).sent == 1
    assert Photo.objects.get(pk=waiting.pk).status == Photo.Status.READY


@pytest.mark.django_db
def test_readyz_counts_stuck_photos(field: Any, client: Any) -> None:
    photo = builders.photo(inspection=field[1], process=False)
    Photo.objects.filter(pk=photo.pk).update(
        received_at=timezone.now() - settings.QINGSHAN_PHOTO_STUCK_AFTER - LATER
    )

    body = client.get("/readyz").json()

    assert body["detail"]["photos_stuck"] == 1


@pytest.mark.django_db
def test_a_second_processing_run_rewrites_renditions_under_the_same_names(
    field: Any, isolated_storage: Path
) -> None:
    photo = builders.photo(inspection=field[1])
    before = media_files(isolated_storage)
    Photo.objects.filter(pk=photo.pk).update(status=Photo.Status.RECEIVED)

    photo_process.apply(args=[photo.pk]).get()

    assert media_files(isolated_storage) == before
    assert len(before) == 3


# --- 3. leftovers ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_reconciler_removes_only_old_files_no_row_refers_to_and_says_what(
    field: Any, isolated_storage: Path
) -> None:
    kept = builders.photo(inspection=field[1])
    originals = isolated_storage / "photos" / "originals"
    renditions = isolated_storage / "photos" / "renditions"
    incoming = isolated_storage / "photos" / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    orphan = originals / f"{uuid.uuid4()}-{'0' * 64}.jpg"
    fresh_orphan = originals / f"{uuid.uuid4()}-{'1' * 64}.jpg"
    orphan_rendition = renditions / f"{uuid.uuid4()}-preview.jpg"
    temporary = incoming / "tmpabc.part"
    staging = Path(settings.QINGSHAN_TUS_UPLOAD_DIR)
    staging.mkdir(parents=True, exist_ok=True)
    dead_upload = staging / f"{uuid.uuid4()}.part"
    live = Upload.objects.create(
        client_uuid=uuid.uuid4(),
        owner=field[0].user,
        length=10,
        expires_at=timezone.now() + timedelta(days=1),
    )
    live_upload = staging / f"{live.pk}.part"
    upload_temporary = Path(settings.FILE_UPLOAD_TEMP_DIR) / f"reconcile-test-{uuid.uuid4()}.upload"
    for path in (
        orphan,
        fresh_orphan,
        orphan_rendition,
        temporary,
        dead_upload,
        live_upload,
        upload_temporary,
    ):
        path.write_bytes(b"left over")
    for path in (orphan, orphan_rendition, temporary, dead_upload, live_upload, upload_temporary):
        age(path, 25)
    for name in (kept.original.name, kept.preview.name, kept.thumbnail.name):
        age(isolated_storage / name, 25)

    dry = media_reconcile(dry_run=True)
    assert dry.removed_count == 5 and orphan.exists()
    result = media_reconcile()

    assert result.summary() == {
        "incoming": 1,
        "originals": 1,
        "renditions": 1,
        "tus staging": 1,
        "upload temporary": 1,
    }
    assert not any(p.exists() for p in (orphan, orphan_rendition, temporary, dead_upload, upload_temporary))
    assert fresh_orphan.exists() and live_upload.exists()
    assert stored_bytes(kept) and (isolated_storage / kept.preview.name).exists()
    assert media_reconcile().removed_count == 0


@pytest.mark.django_db
def test_the_reconcile_command_reports(field: Any, isolated_storage: Path, capsys: Any) -> None:
    orphan = isolated_storage / "photos" / "originals" / f"{uuid.uuid4()}-{'2' * 64}.jpg"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x")

    call_command("reconcile_media", "--grace-hours", "0")

    out = capsys.readouterr().out
    assert f"removed originals: photos/originals/{orphan.name}" in out
    assert "removed 1 (originals: 1)" in out
    assert not orphan.exists()


@pytest.mark.django_db
def test_a_tus_upload_whose_storage_is_unavailable_keeps_its_bytes_for_the_retry(
    field: Any, settings: Any, tmp_path: Path
) -> None:
    from tests.evidence.test_tus import create, head, patch

    _member, inspection, client = field
    content = camera_jpeg()
    blocked = tmp_path / "not-a-folder"
    blocked.write_bytes(b"")  # the media root's parent is a file: every write fails (ENOTDIR)
    good_storage = settings.STORAGES["default"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **good_storage,
            "OPTIONS": {**good_storage["OPTIONS"], "location": str(blocked / "media")},
        },
    }
    location = create(client, inspection, len(content))["Location"]

    refused = patch(client, location, 0, content)

    assert_problem(refused, 503, "storage_unavailable")
    assert head(client, location)["Upload-Offset"] == str(len(content))
    settings.STORAGES = {**settings.STORAGES, "default": good_storage}
    finished = patch(client, location, len(content), b"")
    assert finished.status_code == 204 and finished["Qingshan-Photo"]
    assert stored_bytes(Photo.objects.get()) == content
