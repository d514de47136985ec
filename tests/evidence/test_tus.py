"""The tus 1.0 endpoint: protocol behaviour, cut connections, and a real tus client."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import io
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from inspections.evidence import tus
from inspections.evidence.models import Photo, Upload
from inspections.fieldwork.models import Inspection
from tests import builders
from tests.builders import camera_jpeg
from tests.builders import inspector as team_member
from tests.conftest import assert_problem, client_for

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def metadata_header(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def create(
    client: Any, inspection: Inspection, length: int, client_uuid: str | None = None, **extra: str
) -> Any:
    header = metadata_header(
        client_uuid=client_uuid or str(uuid.uuid4()),
        inspection=str(inspection.pk),
        filename="IMG.jpg",
        **extra,
    )
    return client.post("/api/v1/uploads/", HTTP_UPLOAD_LENGTH=str(length), HTTP_UPLOAD_METADATA=header, **TUS)


def patch(client: Any, location: str, offset: int, body: bytes, *, announce: int | None = None) -> Any:
    """PATCH ``body``; announcing more bytes than sent is a connection cut mid-body."""
    extra: dict[str, Any] = {"HTTP_UPLOAD_OFFSET": str(offset), **TUS}
    if announce is not None:
        extra["CONTENT_LENGTH"] = str(announce)
        extra["wsgi.input"] = io.BytesIO(body)
    return client.generic("PATCH", location, body, content_type="application/offset+octet-stream", **extra)


def head(client: Any, location: str) -> Any:
    return client.head(location, **TUS)


@pytest.fixture
def field() -> tuple[Inspection, Any]:
    member = team_member()
    return builders.inspection(team=[member]), client_for(member.user)


@pytest.mark.django_db
def test_options_announces_version_extensions_and_max_size(field: Any, settings: Any) -> None:
    _inspection, client = field

    response = client.options("/api/v1/uploads/")

    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert response["Tus-Extension"] == "creation,termination"
    assert response["Tus-Max-Size"] == str(settings.QINGSHAN_PHOTO_MAX_BYTES)


@pytest.mark.django_db
def test_it_uploads_in_pieces_through_a_cut_and_makes_the_same_photo_as_multipart(field: Any) -> None:
    inspection, client = field
    content = camera_jpeg(size=(1200, 900)) + os.urandom(300_000)
    created = create(client, inspection, len(content))
    location = created["Location"]

    cut = patch(client, location, 0, content[:100_000], announce=250_000)  # the phone lost its signal
    offset_after_cut = int(head(client, location)["Upload-Offset"])
    rest = patch(client, location, offset_after_cut, content[offset_after_cut:])

    assert created.status_code == 201 and created["Tus-Resumable"] == "1.0.0"
    assert cut.status_code == 204 and offset_after_cut == 100_000
    assert rest.status_code == 204 and int(rest["Upload-Offset"]) == len(content)
    photo = Photo.objects.get()
    assert photo.channel == Photo.Channel.TUS and photo.sha256 == hashlib.sha256(content).hexdigest()
    assert rest["Qingshan-Photo"] == f"/api/v1/photos/{photo.client_uuid}/"
    with photo.original.open("rb") as original:
        assert original.read() == content
    assert not list(tus.staging_path(Upload.objects.get()).parent.glob("*.part"))


@pytest.mark.django_db
def test_offsets_live_in_the_database_and_on_disk_not_in_memory(field: Any) -> None:
    inspection, client = field
    content = camera_jpeg() + os.urandom(50_000)
    location = create(client, inspection, len(content))["Location"]
    patch(client, location, 0, content[:20_000])

    # A "restart": nothing kept in memory; only the row and the file remain.
    upload = Upload.objects.get()
    assert (upload.offset, tus.staging_path(upload).stat().st_size) == (20_000, 20_000)
    # A request that wrote bytes but died before recording them leaves a longer file: cut back.
    with open(tus.staging_path(upload), "ab") as staged:
        staged.write(b"garbage from a dead request")
    other_client = client_for(upload.owner)
    assert head(other_client, location)["Upload-Offset"] == "20000"
    patch(other_client, location, 20_000, content[20_000:])

    assert Photo.objects.get().sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.django_db
def test_a_wrong_offset_is_a_409_and_a_missing_version_a_412(field: Any) -> None:
    inspection, client = field
    location = create(client, inspection, 1000)["Location"]

    wrong = patch(client, location, 10, b"x" * 10)
    no_version = client.generic(
        "PATCH", location, b"x", content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0"
    )

    body = assert_problem(wrong, 409, "offset_mismatch")
    assert body["offset"] == 0
    assert_problem(no_version, 412, "tus_version_unsupported")
    assert no_version["Tus-Version"] == "1.0.0"


@pytest.mark.django_db
def test_it_refuses_too_large_uploads_and_non_images_early(field: Any, settings: Any) -> None:
    inspection, client = field

    too_large = create(client, inspection, settings.QINGSHAN_PHOTO_MAX_BYTES + 1)
    location = create(client, inspection, 100_000)["Location"]
    not_an_image = patch(client, location, 0, b"%PDF-1.7" + bytes(1000))

    assert_problem(too_large, 413, "photo_too_large")
    assert_problem(not_an_image, 415, "unsupported_photo_type")
    assert not Upload.objects.exists()  # the refused upload was terminated


@pytest.mark.django_db
def test_bad_headers_and_metadata_are_400_or_404(field: Any) -> None:
    inspection, client = field
    other = builders.inspection(team=[team_member()])

    no_length = client.post("/api/v1/uploads/", HTTP_UPLOAD_METADATA="", **TUS)
    bad_base64 = client.post(
        "/api/v1/uploads/", HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_METADATA="inspection ###", **TUS
    )
    no_uuid = client.post(
        "/api/v1/uploads/",
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=metadata_header(inspection=str(inspection.pk)),
        **TUS,
    )
    not_theirs = create(client, other, 10)

    assert_problem(no_length, 400, "invalid_tus_header")
    assert_problem(bad_base64, 400, "invalid_upload_metadata")
    assert_problem(no_uuid, 400, "validation_error")
    assert_problem(not_theirs, 404, "not_found")


@pytest.mark.django_db
def test_creation_is_idempotent_on_the_photo_uuid_and_termination_forgets(field: Any) -> None:
    inspection, client = field
    photo_uuid = str(uuid.uuid4())

    first = create(client, inspection, 5000, client_uuid=photo_uuid)
    again = create(client, inspection, 5000, client_uuid=photo_uuid)
    conflicting = create(client, inspection, 6000, client_uuid=photo_uuid)
    stranger = client_for(team_member().user)
    deleted_by_stranger = stranger.delete(first["Location"], **TUS)  # type: ignore[arg-type]
    deleted = client.delete(first["Location"], **TUS)  # type: ignore[arg-type]
    gone = head(client, first["Location"])

    assert first["Location"] == again["Location"]
    assert_problem(conflicting, 409, "uuid_conflict")
    assert_problem(deleted_by_stranger, 404, "not_found")
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert not Upload.objects.exists()


@pytest.mark.django_db
def test_a_photo_sent_by_multipart_is_already_complete_over_tus(field: Any) -> None:
    from tests.builders import upload as multipart

    inspection, client = field
    photo_uuid = str(uuid.uuid4())
    content = camera_jpeg()
    multipart(client, inspection, content, client_uuid=photo_uuid)

    created = create(client, inspection, len(content), client_uuid=photo_uuid)

    assert created.status_code == 201 and created["Upload-Offset"] == str(len(content))
    assert Photo.objects.count() == 1


# --- a real tus client over a real socket, with the connection cut -------------------------------


class CuttingProxy:
    """A TCP proxy that cuts the first PATCH's connection after ``cut_after`` bytes."""

    def __init__(self, upstream: tuple[str, int], cut_after: int) -> None:
        self.upstream = upstream
        self.cut_after = cut_after
        self.cuts = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _address = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)
        threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()
        self._pump(client, upstream, True)

    def _pump(self, source: socket.socket, target: socket.socket, outbound: bool) -> None:
        sent = 0
        cutting = False
        try:
            while data := source.recv(65536):
                if outbound and sent == 0 and data.startswith(b"PATCH") and self.cuts == 0:
                    cutting = True
                    self.cuts += 1
                if cutting and sent + len(data) > self.cut_after:
                    target.sendall(data[: self.cut_after - sent])
                    break
                target.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def no_processing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The live server commits for real: keep its processing messages off the broker."""
    monkeypatch.setattr("inspections.evidence.services.enqueue_on_commit_or_sweep", lambda *args: None)
    yield


@pytest.mark.django_db(transaction=True)
def test_tuspy_uploads_20_mb_through_a_cut_connection_and_resumes(
    wsgi_server: tuple[str, int],
    no_processing: None,
) -> None:
    from tusclient import client as tus_client
    from tusclient.exceptions import TusUploadFailed

    member = team_member()
    inspection = builders.inspection(team=[member])
    content = camera_jpeg(size=(1600, 1200))
    content += os.urandom(20 * 1024 * 1024 - len(content))
    proxy = CuttingProxy(wsgi_server, cut_after=7 * 1024 * 1024)
    token = RefreshToken.for_user(member.user).access_token
    photo_uuid = str(uuid.uuid4())
    try:
        client = tus_client.TusClient(
            f"http://127.0.0.1:{proxy.port}/api/v1/uploads/", headers={"Authorization": f"Bearer {token}"}
        )
        uploader = client.uploader(
            file_stream=io.BytesIO(content),
            chunk_size=len(content),
            metadata={"client_uuid": photo_uuid, "inspection": str(inspection.pk), "filename": "big.jpg"},
            retries=0,
        )
        with pytest.raises(TusUploadFailed):
            uploader.upload()
        # The server notices the cut when its read of the body ends; give it a moment.
        for _attempt in range(50):
            resumed_from = uploader.get_offset()
            if resumed_from:
                break
            time.sleep(0.1)
        uploader.retries, uploader.retry_delay = 5, 1
        uploader.offset = resumed_from
        uploader.upload()
    finally:
        proxy.close()

    assert proxy.cuts == 1
    assert 0 < resumed_from < len(content)  # resumed, not restarted
    photo = Photo.objects.get(client_uuid=photo_uuid)
    assert photo.size == len(content)
    assert photo.sha256 == hashlib.sha256(content).hexdigest()


# --- creation and re-creation: the phone's contract ----------------------------------------------


@pytest.mark.django_db
def test_an_empty_upload_is_refused_at_creation_and_nothing_is_made(field: Any) -> None:
    inspection, client = field

    refused = create(client, inspection, 0)

    assert_problem(refused, 400, "upload_empty")
    assert refused["Tus-Resumable"] == "1.0.0"
    assert not Upload.objects.exists() and not Photo.objects.exists()


@pytest.mark.django_db
def test_re_creation_with_a_new_sending_time_and_file_name_resumes_at_the_true_offset(field: Any) -> None:
    inspection, client = field
    photo_uuid = str(uuid.uuid4())
    content = camera_jpeg(size=(800, 600)) + os.urandom(50_000)
    first = create(
        client, inspection, len(content), client_uuid=photo_uuid, device_time="2026-01-01T08:00:00+08:00"
    )
    patch(client, first["Location"], 0, content[:20_000])

    again = create(
        client,
        inspection,
        len(content),
        client_uuid=photo_uuid,
        device_time="2026-01-01T09:30:00+08:00",
    )
    renamed_header = metadata_header(
        client_uuid=photo_uuid, inspection=str(inspection.pk), filename="IMG_0001 (1).jpg"
    )
    renamed = client.post(
        "/api/v1/uploads/", HTTP_UPLOAD_LENGTH=str(len(content)), HTTP_UPLOAD_METADATA=renamed_header, **TUS
    )
    other_purpose = create(client, inspection, len(content), client_uuid=photo_uuid, purpose="before")
    rest = patch(client, again["Location"], int(again["Upload-Offset"]), content[20_000:])

    assert again["Location"] == renamed["Location"] == first["Location"]
    assert (again["Upload-Offset"], renamed["Upload-Offset"]) == ("20000", "20000")
    assert_problem(other_purpose, 409, "uuid_conflict")
    assert rest.status_code == 204 and rest["Upload-Offset"] == str(len(content))
    assert Photo.objects.get(client_uuid=photo_uuid).sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.django_db
def test_a_completed_upload_created_again_and_sent_from_0_answers_done(field: Any) -> None:
    inspection, client = field
    photo_uuid = str(uuid.uuid4())
    content = camera_jpeg()
    first = create(client, inspection, len(content), client_uuid=photo_uuid)
    patch(client, first["Location"], 0, content)

    again = create(
        client, inspection, len(content), client_uuid=photo_uuid, device_time=timezone.now().isoformat()
    )
    resent = patch(client, again["Location"], 0, content)  # what a client that lost its URL does next
    mid_way = patch(client, again["Location"], 100, content[100:])

    assert again.status_code == 201 and again["Upload-Offset"] == str(len(content))
    for answer in (resent, mid_way):
        assert answer.status_code == 204
        assert answer["Upload-Offset"] == str(len(content))
        assert answer["Qingshan-Photo"] == f"/api/v1/photos/{photo_uuid}/"
    assert Photo.objects.filter(client_uuid=photo_uuid).count() == 1


@pytest.mark.django_db
def test_a_resumable_photos_clock_skew_is_measured_when_its_clock_reading_arrived(field: Any) -> None:
    from tests.builders import process_all

    inspection, client = field
    content = camera_jpeg(gps=builders.YUCUN_WGS84, taken_at=timezone.now())
    # Created three hours ago with a right clock; the phone was offline until its last bytes now.
    created_at = timezone.now() - dt.timedelta(hours=3)
    created = create(client, inspection, len(content), device_time=created_at.isoformat())
    Upload.objects.update(created_at=created_at)
    patch(client, created["Location"], 0, content)
    [photo] = process_all()

    assert photo.device_time_received_at == created_at
    assert abs(photo.clock_skew_seconds or 0) < 1
    assert "clock_skew" not in photo.flag_codes
