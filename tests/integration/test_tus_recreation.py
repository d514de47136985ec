"""A stock tus client (tuspy) that lost the URL it stored still finishes, over a real socket.

A phone that is reinstalled, or clears its cache, forgets the upload URLs it had
stored and creates each upload again with the same ``client_uuid``. The server
answers with the same upload: a finished one takes the client's bytes from 0 and
says that all have arrived; an unfinished one tells its true offset, which tuspy
reads with a HEAD after the first 409 when it may retry.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from inspections.evidence.models import Photo, Upload
from tests import builders
from tests.builders import camera_jpeg
from tests.builders import inspector as team_member

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def no_processing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The live server commits for real: keep its processing messages off the broker."""
    monkeypatch.setattr("inspections.evidence.services.enqueue_on_commit_or_sweep", lambda *args: None)
    yield


def uploader_for(
    server: tuple[str, int], token: str, content: bytes, metadata: dict[str, str], storage: Path
) -> Any:
    """tuspy as a phone app uses it: default settings, a file on disk, its upload URL stored in a file."""
    from tusclient import client as tus_client
    from tusclient.storage.filestorage import FileStorage

    photo = storage.with_suffix(".jpg")
    photo.write_bytes(content)
    client = tus_client.TusClient(
        f"http://{server[0]}:{server[1]}/api/v1/uploads/", headers={"Authorization": f"Bearer {token}"}
    )
    return client.uploader(
        file_path=str(photo), metadata=metadata, store_url=True, url_storage=FileStorage(str(storage))
    )


def test_tuspy_that_lost_its_url_finishes_a_completed_upload_with_default_settings(
    wsgi_server: tuple[str, int], no_processing: None, tmp_path: Path
) -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    token = str(RefreshToken.for_user(member.user).access_token)
    content = camera_jpeg(size=(1200, 900))
    photo_uuid = str(uuid.uuid4())
    metadata = {"client_uuid": photo_uuid, "inspection": str(inspection.pk), "filename": "IMG_0001.jpg"}

    first = uploader_for(
        wsgi_server,
        token,
        content,
        {**metadata, "device_time": "2026-01-01T08:00:00+08:00"},
        tmp_path / "a.json",
    )
    first.upload()
    # Reinstalled: a new storage, a new sending time, a renamed file.
    again = uploader_for(
        wsgi_server,
        token,
        content,
        {**metadata, "device_time": "2026-01-01T09:00:00+08:00", "filename": "IMG_0001 (1).jpg"},
        tmp_path / "b.json",
    )
    again.upload()

    assert again.url == first.url
    assert again.offset == len(content)
    photo = Photo.objects.get(client_uuid=photo_uuid)
    assert photo.sha256 == hashlib.sha256(content).hexdigest()
    assert Photo.objects.count() == 1 and Upload.objects.count() == 1


def test_tuspy_that_lost_its_url_resumes_an_unfinished_upload_from_its_true_offset(
    wsgi_server: tuple[str, int], no_processing: None, tmp_path: Path
) -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    token = str(RefreshToken.for_user(member.user).access_token)
    content = camera_jpeg(size=(1200, 900)) + bytes(300_000)
    photo_uuid = str(uuid.uuid4())
    metadata = {"client_uuid": photo_uuid, "inspection": str(inspection.pk)}

    first = uploader_for(wsgi_server, token, content, metadata, tmp_path / "a.json")
    first.chunk_size = 100_000
    first.upload(stop_at=100_000)  # then the phone was reinstalled
    again = uploader_for(wsgi_server, token, content, metadata, tmp_path / "b.json")
    again.retries, again.retry_delay = 1, 0  # one retry: tuspy asks the offset (HEAD) and goes on
    again.upload()

    assert again.url == first.url
    assert Upload.objects.get(client_uuid=photo_uuid).offset == len(content)
    assert Photo.objects.get(client_uuid=photo_uuid).sha256 == hashlib.sha256(content).hexdigest()
