"""Fault tests of the phone's contract: nothing acknowledged is ever lost.

Each test breaks one dependency for real, then checks the same things: every
photo the API acknowledged exists once, its stored original has the SHA-256 of
the bytes sent, it ends up processed, and no file is left that no row refers to
once the reconciler has run.

* a commit whose answer is lost: on PostgreSQL a TCP proxy in front of the
  server passes ``COMMIT`` on and drops its answer (the connection then
  closes); on SQLite, which has no wire, the connection wrapper raises right
  after the commit;
* the broker dropping every packet (a socket that takes connections and never
  answers): the upload answers at once, the sweeper sends processing later;
* the media disk full, then read-only (a tmpfs mounted over the media folder);
* a worker killed with SIGKILL while it processes a photo.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from inspections.evidence import recovery
from inspections.evidence.models import Photo
from inspections.evidence.reconcile import media_reconcile
from inspections.fieldwork.models import Inspection
from tests import builders
from tests.builders import camera_jpeg, upload
from tests.builders import inspector as team_member
from tests.conftest import assert_problem, client_for
from tests.faults import commit_then_lose_the_answer
from tests.integration.test_digest_delivery import SubprocessDatabase, Worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def field() -> tuple[Any, Inspection, Any]:
    member = team_member()
    inspection = builders.inspection(team=[member])
    return member, inspection, client_for(member.user)


def after_stuck_period() -> Any:
    return timezone.now() + settings.QINGSHAN_PHOTO_STUCK_AFTER + timedelta(minutes=1)


def media_files(media: Path) -> list[str]:
    return sorted(str(path.relative_to(media)) for path in media.rglob("*") if path.is_file())


def assert_contract(sent: dict[uuid.UUID, bytes], media: Path) -> None:
    """Every acknowledged photo once, with the bytes sent, processed; no orphan after the reconciler."""
    photos = {photo.client_uuid: photo for photo in Photo.objects.all()}
    assert set(photos) == set(sent)
    for client_uuid, content in sent.items():
        photo = photos[client_uuid]
        assert photo.status == Photo.Status.READY, photo.processing_error
        assert hashlib.sha256((media / photo.original.name).read_bytes()).hexdigest() == photo.sha256
        assert photo.sha256 == hashlib.sha256(content).hexdigest()
    media_reconcile(grace=timedelta(0))
    referenced = sorted(
        name
        for photo in photos.values()
        for name in (photo.original.name, photo.thumbnail.name, photo.preview.name)
    )
    assert media_files(media) == referenced


# --- a commit whose answer is lost -----------------------------------------------------------------


class CommitAnswerDropper:
    """A TCP proxy in front of PostgreSQL that, once armed, passes ``COMMIT`` on and drops its answer.

    PostgreSQL's simple query protocol sends ``COMMIT`` as one ``Q`` message
    (psycopg's ``commit()``); the server's reply is swallowed and both sides are
    closed, so the client sees the connection cut while the server committed.
    """

    COMMIT = b"Q" + struct.pack("!I", 4 + len(b"COMMIT\x00")) + b"COMMIT\x00"

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.dropped = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            committing = threading.Event()
            threading.Thread(target=self._to_server, args=(client, server, committing), daemon=True).start()
            threading.Thread(target=self._to_client, args=(server, client, committing), daemon=True).start()

    def _to_server(self, client: socket.socket, server: socket.socket, committing: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if self.armed.is_set() and self.COMMIT in data:
                    self.armed.clear()
                    committing.set()
                server.sendall(data)
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_WR)

    def _to_client(self, server: socket.socket, client: socket.socket, committing: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := server.recv(65536):
                if committing.is_set():
                    # The server has committed and answers: the answer never arrives.
                    self.dropped.set()
                    break
                client.sendall(data)
        for sock in (client, server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.stopping = True
        self.listener.close()


@contextlib.contextmanager
def commit_answer_lost() -> Iterator[Any]:
    """Arm a lost answer for the next COMMIT of the default connection; yields what says it happened."""
    if connection.vendor == "postgresql":
        saved = dict(connection.settings_dict)
        proxy = CommitAnswerDropper((saved["HOST"] or "127.0.0.1", int(saved["PORT"] or 5432)))
        connection.close()
        connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": str(proxy.port)})
        proxy.armed.set()
        try:
            yield proxy.dropped.is_set
        finally:
            connection.close()
            connection.settings_dict.update(saved)
            proxy.close()
        return
    # SQLite has no wire: the connection wrapper raises right after the commit.
    with commit_then_lose_the_answer() as happened:
        yield happened


@pytest.mark.usefixtures("eager_celery")
def test_a_commit_whose_answer_is_lost_keeps_the_photo_and_its_original(
    field: Any, isolated_storage: Path
) -> None:
    _member, inspection, client = field
    sent = {uuid.uuid4(): camera_jpeg(seed=n) for n in range(4)}

    for client_uuid, content in sent.items():
        with commit_answer_lost() as lost:
            first = upload(client, inspection, content, client_uuid=client_uuid)
        assert lost(), "the commit's answer was not dropped"
        assert_problem(first, 503, "database_unavailable")
        assert first["Retry-After"]
        retried = upload(client, inspection, content, client_uuid=client_uuid)
        assert retried.status_code == 200, retried.content

    assert Photo.objects.filter(status=Photo.Status.RECEIVED).count() == len(sent)  # nothing was published
    assert recovery.photos_sweep(now=after_stuck_period()).sent == len(sent)
    assert_contract(sent, isolated_storage)


# --- the broker dropping packets -------------------------------------------------------------------


@pytest.fixture
def silent_broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A broker address whose connections are taken by the kernel and never answered."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
    try:
        yield
    finally:
        listener.close()


def test_with_the_broker_dropping_packets_uploads_answer_at_once_and_are_processed_later(
    field: Any, silent_broker: None, isolated_storage: Path, eager_celery: Any
) -> None:
    _member, inspection, client = field
    eager_celery.conf.task_always_eager = False
    sent = {uuid.uuid4(): camera_jpeg(seed=n) for n in range(3)}

    for client_uuid, content in sent.items():
        started = time.monotonic()
        response = upload(client, inspection, content, client_uuid=client_uuid)
        elapsed = time.monotonic() - started
        assert response.status_code == 201, response.content
        # One bounded connection attempt and no retries, not the 180 s of an unbounded publish.
        assert elapsed < 4 * settings.QINGSHAN_PUBLISH_TIMEOUT_SECONDS + 5, elapsed

    assert Photo.objects.filter(status=Photo.Status.RECEIVED).count() == len(sent)
    eager_celery.conf.task_always_eager = True  # the broker is back: the sweeper sends them
    assert recovery.photos_sweep(now=after_stuck_period()).sent == len(sent)
    assert_contract(sent, isolated_storage)


# --- the media disk full, then read-only -----------------------------------------------------------


PHOTO = camera_jpeg(size=(2000, 1500), quality=100, seed=7)


@pytest.fixture
def small_media_disk(isolated_storage: Path) -> Iterator[Path]:
    """A tmpfs of half the photo's size mounted over the media folder (we are root on every machine
    of the project)."""
    isolated_storage.mkdir(parents=True, exist_ok=True)
    size = f"size={len(PHOTO) // 2 // 4096 * 4096}"
    subprocess.run(["mount", "-t", "tmpfs", "-o", size, "tmpfs", str(isolated_storage)], check=True)
    try:
        yield isolated_storage
    finally:
        subprocess.run(["umount", "-l", str(isolated_storage)], check=True)


def remount(media: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(media)], check=True)


@pytest.mark.usefixtures("eager_celery")
def test_a_full_then_read_only_media_disk_is_507_then_503_and_leaves_nothing_behind(
    field: Any, small_media_disk: Path, client: Any
) -> None:
    _member, inspection, phone = field
    content = PHOTO
    photo_uuid = uuid.uuid4()

    full = [upload(phone, inspection, content, client_uuid=photo_uuid) for _ in range(3)]
    for response in full:
        body = assert_problem(response, 507, "storage_full")
        assert response["Retry-After"] == str(body["retry_after"])
    assert media_files(small_media_disk) == []  # no zero-byte originals, no temporary files
    readyz = client.get("/readyz")
    assert readyz.status_code == 503
    assert readyz.json()["checks"]["storage"] is False and readyz.json()["detail"]["storage"] == "full"

    remount(small_media_disk, "size=64m,ro")
    read_only = upload(phone, inspection, content, client_uuid=photo_uuid)
    assert_problem(read_only, 503, "storage_unavailable")
    readyz = client.get("/readyz")
    assert readyz.status_code == 503
    assert readyz.json()["checks"]["storage"] is False and readyz.json()["detail"]["storage"] == "unavailable"
    assert Photo.objects.count() == 0

    remount(small_media_disk, "rw")
    stored = upload(phone, inspection, content, client_uuid=photo_uuid)
    assert stored.status_code == 201, stored.content
    assert_contract({photo_uuid: content}, small_media_disk)


# --- a worker killed while processing --------------------------------------------------------------


@pytest.fixture
def media_worker(tmp_path: Path, isolated_storage: Path) -> Iterator[Any]:
    """Start Celery workers on the media queue, on this test's database and media folder."""
    database = SubprocessDatabase(tmp_path)
    started: list[Worker] = []
    url: list[str] = []

    def start(name: str) -> Worker:
        if not url:
            url.append(database.url())
        log = tmp_path / f"{name}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": url[0],
            "QINGSHAN_VAR_DIR": str(settings.VAR_DIR),
            "QINGSHAN_MEDIA_ROOT": str(isolated_storage),
            "DATABASE_CONN_MAX_AGE": "0",
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "media"),
                    *("-P", "solo", "-c", "1", "-n", f"{name}-{uuid.uuid4().hex[:8]}@%h"),
                    *("--without-mingle", "--without-gossip", "--without-heartbeat", "--loglevel", "INFO"),
                ],
                cwd=settings.BASE_DIR,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(process, log)
        started.append(worker)
        worker.wait_ready()
        return worker

    start.database = database  # type: ignore[attr-defined]
    try:
        yield start
    finally:
        for worker in started:
            worker.stop()


def status_seen_by_workers(database: SubprocessDatabase, photo_id: int) -> str:
    if database.vendor == "sqlite":
        with contextlib.closing(sqlite3.connect(database.path)) as copy:
            row = copy.execute("SELECT status FROM inspections_photo WHERE id = ?", [photo_id]).fetchone()
        return str(row[0])
    return str(Photo.objects.filter(pk=photo_id).values_list("status", flat=True).get())


def test_a_photo_whose_worker_is_killed_mid_processing_is_processed_by_the_next(
    field: Any, isolated_storage: Path, media_worker: Any
) -> None:
    _member, inspection, client = field
    content = camera_jpeg(seed=3)
    photo_uuid = uuid.uuid4()
    response = upload(client, inspection, content, client_uuid=photo_uuid)  # published to the media queue
    assert response.status_code == 201, response.content
    photo = Photo.objects.get()
    original = isolated_storage / photo.original.name
    # The worker will block reading the original until this test writes to the pipe.
    original.unlink()
    os.mkfifo(original)

    first = media_worker("doomed")
    pipe = os.open(original, os.O_WRONLY)  # returns once the worker has opened it: it is processing
    first.process.kill()
    first.process.wait(30)
    os.close(pipe)
    original.unlink()
    original.write_bytes(content)

    second = media_worker("survivor")
    assert recovery.photos_sweep(now=after_stuck_period()).sent == 1
    wait_until(lambda: status_seen_by_workers(media_worker.database, photo.pk) == "ready", "the survivor")
    second.stop()
    media_worker.database.read_back()
    assert_contract({photo_uuid: content}, isolated_storage)
