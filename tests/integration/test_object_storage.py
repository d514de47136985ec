"""Media on a real S3-protocol server (moto's): originals, renditions, public copies, tus staging,
the reconciler and the storage errors, all through the bucket."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from inspections.evidence import storage as media
from inspections.evidence import tus_staging
from inspections.evidence.models import Photo, Upload
from inspections.evidence.reconcile import media_reconcile
from inspections.fieldwork.models import Inspection
from inspections.publication.models import PublicImage
from inspections.publication.services import public_images_make
from tests import builders
from tests.builders import camera_jpeg, upload
from tests.builders import inspector as team_member
from tests.conftest import assert_problem, client_for
from tests.evidence.test_tus import create, head, patch
from tests.integration.object_store import (
    object_names,
    s3_client,
    s3_storage_options,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@contextlib.contextmanager
def refused_url() -> Iterator[str]:
    """An address where a socket is bound but never listens: every connection is refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}"


@pytest.fixture
def field() -> tuple[Inspection, Any, Any]:
    member = team_member()
    return builders.inspection(team=[member]), member, client_for(member.user)


def test_an_original_goes_to_the_bucket_private_under_its_sha256_and_is_served_only_to_who_may_see_it(
    field: Any, s3_endpoint: str, s3_bucket: str, eager_celery: Any
) -> None:
    inspection, _member, client = field
    content = camera_jpeg(size=(1200, 900))
    digest = hashlib.sha256(content).hexdigest()

    first = upload(client, inspection, content, client_uuid=(photo_uuid := uuid.uuid4()))
    replay = upload(client, inspection, content, client_uuid=photo_uuid)
    photo = Photo.objects.get()
    served = client.get(f"/api/v1/photos/{photo.client_uuid}/original/")
    stranger = client_for(team_member().user).get(f"/api/v1/photos/{photo.client_uuid}/original/")

    assert (first.status_code, replay.status_code) == (201, 200)
    assert photo.original.name == f"photos/originals/{photo_uuid}-{digest}.jpg" and photo.sha256 == digest
    assert object_names(s3_endpoint, s3_bucket, "photos/originals/") == [photo.original.name]
    stored = s3_client(s3_endpoint).get_object(Bucket=s3_bucket, Key=photo.original.name)
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == digest
    grants = s3_client(s3_endpoint).get_object_acl(Bucket=s3_bucket, Key=photo.original.name)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]  # the owner's alone: private
    assert all("URI" not in grant["Grantee"] for grant in grants)  # no AllUsers / AuthenticatedUsers
    assert served.status_code == 200 and b"".join(served.streaming_content) == content
    assert served["Cache-Control"] == "private, no-store"
    assert stranger.status_code == 404


def test_renditions_and_public_copies_are_written_to_the_bucket(
    field: Any, s3_endpoint: str, s3_bucket: str
) -> None:
    inspection, member, client = field
    photo = builders.photo(inspection=inspection, by=member, content=camera_jpeg(size=(1600, 1200)))

    made = public_images_make(photo_uuids=[str(photo.client_uuid)])
    thumbnail = client.get(f"/api/v1/photos/{photo.client_uuid}/thumbnail/")

    assert photo.status == Photo.Status.READY
    assert object_names(s3_endpoint, s3_bucket, "photos/renditions/") == sorted(
        [photo.thumbnail.name, photo.preview.name]
    )
    assert thumbnail.status_code == 200 and b"".join(thumbnail.streaming_content)[:2] == b"\xff\xd8"
    (public,) = made
    assert PublicImage.objects.get().image.name in object_names(s3_endpoint, s3_bucket, "public/")
    public_bytes = s3_client(s3_endpoint).get_object(Bucket=s3_bucket, Key=public.image.name)["Body"].read()
    assert public_bytes[:2] == b"\xff\xd8" and b"Exif" not in public_bytes[:4096]


def test_a_tus_upload_stages_its_pieces_in_the_bucket_by_offset_and_resumes_from_another_client(
    field: Any, s3_endpoint: str, s3_bucket: str, tmp_path: Any, settings: Any
) -> None:
    inspection, member, client = field
    content = camera_jpeg(size=(1200, 900)) + os.urandom(300_000)
    location = create(client, inspection, len(content))["Location"]

    cut = patch(client, location, 0, content[:100_000], announce=250_000)  # the signal was lost
    upload_row = Upload.objects.get()
    staged_after_cut = object_names(s3_endpoint, s3_bucket, "photos/staging/")
    # A "node" with nothing of its own: another local folder, another client; only the DB and bucket.
    settings.QINGSHAN_TUS_UPLOAD_DIR = tmp_path / "another-node"
    other = client_for(member.user)
    offset = int(head(other, location)["Upload-Offset"])
    middle = patch(other, location, offset, content[offset:200_000])
    rest = patch(client, location, 200_000, content[200_000:])

    assert cut.status_code == 204 and offset == 100_000
    assert staged_after_cut == [tus_staging.part_name(upload_row, 0)]
    assert middle.status_code == 204 and rest.status_code == 204
    photo = Photo.objects.get()
    assert photo.sha256 == hashlib.sha256(content).hexdigest()
    with photo.original.open("rb") as original:
        assert original.read() == content
    assert object_names(s3_endpoint, s3_bucket, "photos/staging/") == []


def test_a_part_written_by_a_request_that_died_before_recording_it_is_received_again(
    field: Any, s3_endpoint: str, s3_bucket: str
) -> None:
    inspection, _member, client = field
    content = camera_jpeg() + os.urandom(60_000)
    location = create(client, inspection, len(content))["Location"]
    patch(client, location, 0, content[:20_000])
    upload_row = Upload.objects.get()
    # The dead request's part: written at the recorded offset, its offset never recorded.
    s3_client(s3_endpoint).put_object(
        Bucket=s3_bucket, Key=tus_staging.part_name(upload_row, 20_000), Body=b"garbage" * 5000
    )

    assert head(client, location)["Upload-Offset"] == "20000"
    assert patch(client, location, 20_000, content[20_000:]).status_code == 204
    assert Photo.objects.get().sha256 == hashlib.sha256(content).hexdigest()


def test_the_reconciler_works_on_the_bucket(field: Any, s3_endpoint: str, s3_bucket: str) -> None:
    inspection, member, client = field
    kept = builders.photo(inspection=inspection, by=member, process=False)
    orphan = f"{media.ORIGINALS}/{uuid.uuid4()}-{'0' * 64}.jpg"
    default_storage.save(orphan, ContentFile(b"left by a killed request"))
    location = create(client, inspection, 50_000)["Location"]
    patch(client, location, 0, camera_jpeg()[:10_000])
    live_upload = Upload.objects.get()
    dead_part = f"{tus_staging.STAGING}/{uuid.uuid4()}/{0:014d}"
    default_storage.save(dead_part, ContentFile(b"an upload that expired"))
    later = timezone.now() + timedelta(days=2)

    soon = media_reconcile()  # everything is younger than the grace period
    dry = media_reconcile(now=later, dry_run=True)
    result = media_reconcile(now=later)

    assert soon.removed_count == 0 and dry.removed == result.removed and not result.errors
    assert result.summary() == {"originals": 1, "tus staging": 1}
    assert result.removed["originals"] == [orphan] and result.removed["tus staging"] == [dead_part]
    remaining = object_names(s3_endpoint, s3_bucket)
    assert kept.original.name in remaining and tus_staging.part_name(live_upload, 0) in remaining
    assert orphan not in remaining and dead_part not in remaining


def test_an_unreachable_or_missing_bucket_is_a_503_with_nothing_half_written(
    field: Any, s3_endpoint: str, settings: Any, isolated_storage: Any
) -> None:
    inspection, _member, client = field
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_options(s3_endpoint, "no-such-bucket")}

    missing_bucket = upload(client, inspection, camera_jpeg())
    with refused_url() as dead:
        settings.STORAGES = {**settings.STORAGES, "default": s3_storage_options(dead, "qingshan")}
        unreachable = upload(client, inspection, camera_jpeg())
        probe = media.storage_probe()

    assert_problem(missing_bucket, 503, "storage_unavailable")
    assert_problem(unreachable, 503, "storage_unavailable")
    assert missing_bucket["Retry-After"] == "60"
    assert probe == "unavailable"
    assert not Photo.objects.exists()


def test_a_tus_upload_whose_staging_bucket_is_unreachable_is_a_503_and_resumes_when_it_is_back(
    field: Any, s3_endpoint: str, s3_bucket: str, settings: Any
) -> None:
    inspection, _member, client = field
    content = camera_jpeg() + os.urandom(40_000)
    location = create(client, inspection, len(content))["Location"]
    good = settings.STORAGES["default"]
    with refused_url() as dead:
        settings.STORAGES = {**settings.STORAGES, "default": s3_storage_options(dead, s3_bucket)}
        refused = patch(client, location, 0, content)
    settings.STORAGES = {**settings.STORAGES, "default": good}

    assert_problem(refused, 503, "storage_unavailable")
    assert head(client, location)["Upload-Offset"] == "0"
    assert patch(client, location, 0, content).status_code == 204
    assert Photo.objects.get().sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_one_request_at_a_time_appends_to_an_upload_whichever_node_it_reaches(
    field: Any, s3_bucket: str
) -> None:
    """The lock is the database's (PostgreSQL advisory lock) or the machine's (flock, SQLite)."""
    inspection, _member, client = field
    content = camera_jpeg() + os.urandom(20_000)
    location = create(client, inspection, len(content))["Location"]
    upload_row = Upload.objects.get()
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def other_node() -> None:
        try:
            with tus_staging.staging().exclusive(upload_row):
                held.set()
                release.wait(30)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=other_node)
    thread.start()
    assert held.wait(30)
    locked = patch(client, location, 0, content)
    release.set()
    assert done.wait(30)
    thread.join(30)
    after = patch(client, location, 0, content)

    assert_problem(locked, 423, "upload_locked")
    assert after.status_code == 204 and Photo.objects.get().sha256 == hashlib.sha256(content).hexdigest()
