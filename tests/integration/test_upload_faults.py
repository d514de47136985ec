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
* a worker killed with SIGKILL while it processes a photo;
* the database cut for 10 s while a real worker (two processes) processes queued
  photos: on PostgreSQL the TCP proxy breaks every connection when a worker saves a
  processed photo and answers no new one until the link is back; on SQLite the test
  holds the database file's lock as long;
* a web worker of the Procfile's server (uvicorn) killed with SIGKILL while a
  multipart upload and a tus PATCH arrive.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from inspections.evidence import recovery
from inspections.evidence.models import Photo
from inspections.evidence.reconcile import media_reconcile
from inspections.fieldwork.models import Inspection
from tests import builders
from tests.builders import camera_jpeg, upload
from tests.builders import inspector as team_member
from tests.conftest import assert_problem, client_for
from tests.faults import commit_then_lose_the_answer
from tests.integration.processes import SubprocessDatabase, WebServer, Worker, celery_worker, wait_until
from tests.integration.processes import web_server as web_server_process

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHUNK = 1024 * 1024  # a tus PATCH as phones send them (README, Serving)


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


class PostgresProxy:
    """A TCP proxy in front of PostgreSQL that passes bytes both ways until told to break something.

    * ``armed``: the next ``COMMIT`` is passed on and its answer dropped. PostgreSQL's
      simple query protocol sends ``COMMIT`` as one ``Q`` message (psycopg's
      ``commit()``); the server's reply is swallowed and both sides are closed, so
      the client sees the connection cut while the server committed.
    * ``cut_on``: when a client sends bytes containing this marker, the link is cut
      before they are passed on: every connection through the proxy is broken (as
      when a firewall or a NAT forgets them) and a new connection gets no answer
      until :meth:`restore` (its connect waits, as over a dead link).
    """

    COMMIT = b"Q" + struct.pack("!I", 4 + len(b"COMMIT\x00")) + b"COMMIT\x00"

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.dropped = threading.Event()
        self.cut_on: bytes | None = None
        self.link = threading.Event()  # set while the link is up
        self.link.set()
        self.was_cut = threading.Event()
        self.lock = threading.Lock()
        self.live: list[socket.socket] = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self.link.wait()  # over a cut link a new connection gets no answer until it is back
        if self.stopping:
            client.close()
            return
        server = socket.create_connection(self.upstream)
        with self.lock:
            self.live += [client, server]
        committing = threading.Event()
        threading.Thread(target=self._to_server, args=(client, server, committing), daemon=True).start()
        threading.Thread(target=self._to_client, args=(server, client, committing), daemon=True).start()

    def _to_server(self, client: socket.socket, server: socket.socket, committing: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if self.cut_on is not None and self.cut_on in data:
                    self.cut_on = None
                    self.cut()
                    return
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
            self._break(sock)

    def _break(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        """Break every connection through the proxy; new ones wait until :meth:`restore`."""
        self.link.clear()
        with self.lock:
            live, self.live = self.live, []
        for sock in live:
            self._break(sock)
        self.was_cut.set()

    def restore(self) -> None:
        self.link.set()

    def close(self) -> None:
        self.stopping = True
        self.link.set()
        self.listener.close()


@contextlib.contextmanager
def commit_answer_lost() -> Iterator[Any]:
    """Arm a lost answer for the next COMMIT of the default connection; yields what says it happened."""
    if connection.vendor == "postgresql":
        saved = dict(connection.settings_dict)
        proxy = PostgresProxy((saved["HOST"] or "127.0.0.1", int(saved["PORT"] or 5432)))
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
def media_worker(tmp_path: Path) -> Iterator[Any]:
    """Start Celery workers on the media queue, on this test's database and media folder."""
    database = SubprocessDatabase(tmp_path)
    started: list[Worker] = []
    url: list[str] = []

    def start(name: str, *, pool_size: str = "", **extra: str) -> Worker:
        if not url:
            url.append(database.url())
        name = f"{name}-{uuid.uuid4().hex[:8]}"
        pool = ("-c", pool_size) if pool_size else ("-P", "solo", "-c", "1")
        log = tmp_path / f"{name}.log"
        worker = celery_worker(log, url[0], queues="media", name=name, pool=pool, environment=extra)
        started.append(worker)
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


# --- the database cut while photos are processed ----------------------------------------------------

CUT_SECONDS = 10
# What a worker sends to save a processed photo (the only UPDATE of a photo it makes): the
# cut falls on a task mid-way.
SAVE_PROCESSED = b'UPDATE "inspections_photo" SET '


@dataclass
class DatabaseCut:
    """The workers' database URL through the link, and whether the link has been cut yet."""

    database_url: str
    happened: Callable[[], bool]


@contextlib.contextmanager
def database_link(database: SubprocessDatabase) -> Iterator[Any]:
    """The workers' way to the database, which :func:`cut_for` cuts for ``CUT_SECONDS``.

    On PostgreSQL a TCP proxy (:class:`PostgresProxy`) in front of the server: the link
    is cut when a worker sends the UPDATE that saves a processed photo, so the cut falls
    on a task mid-way. On SQLite, which has no wire, the database file is locked
    (``BEGIN EXCLUSIVE`` by this test) for as long: the workers' writes wait.
    """
    url = database.url()
    if database.vendor == "postgresql":
        db = connection.settings_dict
        proxy = PostgresProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
        proxy.cut_on = SAVE_PROCESSED
        through = url.replace(f":{db['PORT'] or 5432}/", f":{proxy.port}/", 1)
        assert through != url
        try:
            yield DatabaseCut(through, proxy.was_cut.is_set), proxy
        finally:
            proxy.close()
        return
    yield DatabaseCut(url, lambda: True), None


def statuses_seen_by_workers(database: SubprocessDatabase) -> dict[str, int]:
    """How many photos are in each status, as the workers' database has it."""
    if database.vendor == "sqlite":
        with contextlib.closing(sqlite3.connect(database.path, timeout=60)) as copy:
            rows = copy.execute("SELECT status, COUNT(*) FROM inspections_photo GROUP BY status").fetchall()
        return {str(status): int(count) for status, count in rows}
    counted = Photo.objects.values_list("status").annotate(count=Count("pk"))
    return {str(status): int(count) for status, count in counted}


def processed_at_seen_by_workers(database: SubprocessDatabase) -> dict[str, str]:
    if database.vendor == "sqlite":
        with contextlib.closing(sqlite3.connect(database.path, timeout=60)) as copy:
            rows = copy.execute(
                "SELECT client_uuid, processed_at FROM inspections_photo WHERE status = 'ready'"
            ).fetchall()
        return {str(uuid.UUID(str(u))): str(at) for u, at in rows}
    ready = Photo.objects.filter(status=Photo.Status.READY)
    return {str(u): str(at) for u, at in ready.values_list("client_uuid", "processed_at")}


def test_a_database_cut_while_photos_are_processed_loses_none_and_processes_each_once(
    field: Any, isolated_storage: Path, media_worker: Any
) -> None:
    """Photos queued, a real worker (two processes, persistent connections) and a 10 s cut to the database."""
    _member, inspection, client = field
    sent = {uuid.uuid4(): noise_jpeg(20 + n, size=(1400, 1000)) for n in range(6)}
    for client_uuid, content in sent.items():  # all queued before any worker runs
        response = upload(client, inspection, content, client_uuid=client_uuid)
        assert response.status_code == 201, response.content
    database = media_worker.database

    with database_link(database) as (link, proxy):
        # The Procfile's worker pool (prefork, two processes) keeping its connections, as in production.
        worker = media_worker(
            "cut", DATABASE_URL=link.database_url, DATABASE_CONN_MAX_AGE="60", pool_size="2"
        )
        if proxy is None:  # SQLite: lock the file once the worker is under way
            wait_until(lambda: statuses_seen_by_workers(database).get("ready", 0) >= 1, "a first photo")
            locker = sqlite3.connect(database.path, timeout=60, isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")
        else:
            wait_until(link.happened, f"the cut, on a processed photo's save: {worker.output()}", timeout=120)
        cut_at = time.monotonic()
        before = statuses_seen_by_workers(database)
        # The cut lasts CUT_SECONDS: nothing is saved meanwhile.
        while time.monotonic() - cut_at < CUT_SECONDS:
            if proxy is not None:
                assert statuses_seen_by_workers(database) == before
            time.sleep(0.5)
        assert worker.process.poll() is None  # the worker rode it out
        if proxy is None:
            locker.execute("COMMIT")
            locker.close()
        else:
            proxy.restore()
        assert before.get("ready", 0) < len(sent)  # photos were still waiting when the link came back

        wait_until(
            lambda: statuses_seen_by_workers(database).get("ready", 0) == len(sent),
            "every photo processed after the cut",
            timeout=180,
        )
        first_seen = processed_at_seen_by_workers(database)
        worker.stop()

    log = worker.output()
    if proxy is not None:
        assert "OperationalError" in log and "Retry in" in log, log[-3000:]  # the cut hit a task mid-way
    assert "raised unexpected" not in log, log[-3000:]
    database.read_back()
    # Processed once: what was saved when each photo first showed as processed is what stays.
    assert processed_at_seen_by_workers(database) == first_seen
    assert set(first_seen) == {str(u) for u in sent}
    assert_contract(sent, isolated_storage)


# --- a web worker killed mid-upload ----------------------------------------------------------------


def noise_jpeg(seed: int, size: tuple[int, int] = (1800, 1400)) -> bytes:
    """A JPEG of noise: large (several MB, so Django spools it to a temporary file) and deterministic."""
    import io
    import random

    from PIL import Image

    pixels = random.Random(seed).randbytes(size[0] * size[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[Any]:
    """The Procfile's web server (uvicorn) on this test's database, media, tus and temporary folders.

    ``spool`` is the folder Django spools large multipart files to while the view runs
    (``QINGSHAN_UPLOAD_TEMP_DIR``); ``bodies`` the server's ``TMPDIR``, where Django's ASGI
    handler keeps a request body over 2.5 MB while it arrives.
    """
    database = SubprocessDatabase(tmp_path)
    started: list[WebServer] = []
    spool, bodies = tmp_path / "upload-tmp", tmp_path / "bodies"
    spool.mkdir()
    bodies.mkdir()

    def start() -> WebServer:
        server = web_server_process(
            tmp_path / "web.log",
            database.url(),
            QINGSHAN_UPLOAD_TEMP_DIR=str(spool),
            TMPDIR=str(bodies),
        )
        started.append(server)
        return server

    start.database = database  # type: ignore[attr-defined]
    start.spool = spool  # type: ignore[attr-defined]
    start.bodies = bodies  # type: ignore[attr-defined]
    try:
        yield start
    finally:
        for server in started:
            server.stop()


def multipart(fields: dict[str, str], content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="IMG.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def half_sent(port: int, method: str, path: str, headers: dict[str, str], body: bytes) -> socket.socket:
    """A request whose headers and first half of the body are sent; the rest never is."""
    sock = socket.create_connection(("127.0.0.1", port))
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    sock.sendall(head.encode() + body[: len(body) // 2])
    return sock


def request(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Any:
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection_.request(method, path, body=body, headers=headers)
    response = connection_.getresponse()
    response.read()
    return response


def kill_the_worker_receiving(server: WebServer, cut: socket.socket) -> None:
    """SIGKILL the uvicorn worker that has read what ``cut`` sent so far; wait for its replacement."""
    wait_until(lambda: server.connection_owner(cut) is not None, "a worker to take the connection")
    wait_until(lambda: server.has_read_everything(cut), "the worker to read the bytes sent")
    pid = server.connection_owner(cut)
    assert pid is not None
    others = set(server.worker_pids()) - {pid}
    os.kill(pid, signal.SIGKILL)
    # The supervisor (uvicorn's parent process) sees it die and starts a new worker in its place.
    wait_until(lambda: f"Child process [{pid}] died" in server.output(), "uvicorn to see the worker die")
    wait_until(
        lambda: pid not in server.worker_pids() and len(set(server.worker_pids()) - others) == 1,
        "uvicorn to replace the killed worker",
    )


def tus_location(created: Any, port: int) -> str:
    return str(created.getheader("Location")).split("127.0.0.1", 1)[-1].split(f":{port}", 1)[-1]


def test_a_web_worker_killed_during_multipart_and_tus_uploads_loses_nothing_and_leaves_nothing(
    field: Any, isolated_storage: Path, web_server: Any, eager_celery: Any
) -> None:
    """The Procfile's server: its worker killed while a multipart body and a tus PATCH arrive."""
    member, inspection, _client = field
    token = str(RefreshToken.for_user(member.user).access_token)
    auth = {"Authorization": f"Bearer {token}"}
    by_multipart, by_tus = uuid.uuid4(), uuid.uuid4()
    sent = {by_multipart: noise_jpeg(1), by_tus: noise_jpeg(2)}
    # Over FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): the body goes to a temporary file as it arrives.
    assert all(len(content) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE for content in sent.values())
    server = web_server()
    assert len(server.worker_pids()) == 2  # the Procfile's --workers 2

    # multipart: the worker reading the body is killed, then the phone sends it again
    body, content_type = multipart(
        {"client_uuid": str(by_multipart), "inspection": str(inspection.pk)}, sent[by_multipart]
    )
    cut = half_sent(server.port, "POST", "/api/v1/photos/", {**auth, "Content-Type": content_type}, body)
    kill_the_worker_receiving(server, cut)
    cut.close()
    assert Photo.objects.count() == 0
    again = request(server.port, "POST", "/api/v1/photos/", {**auth, "Content-Type": content_type}, body)
    assert again.status == 201

    # tus: 1 MiB PATCHes as phones send them; the worker is killed while the second arrives,
    # and the phone resumes from the offset the server recorded (the first PATCH's end)
    tus_headers = {**auth, "Tus-Resumable": "1.0.0"}
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in {"client_uuid": str(by_tus), "inspection": str(inspection.pk)}.items()
    )
    created = request(
        server.port,
        "POST",
        "/api/v1/uploads/",
        {**tus_headers, "Upload-Length": str(len(sent[by_tus])), "Upload-Metadata": metadata},
    )
    assert created.status == 201
    location = tus_location(created, server.port)
    patch_headers = {**tus_headers, "Content-Type": "application/offset+octet-stream"}
    first = request(
        server.port, "PATCH", location, {**patch_headers, "Upload-Offset": "0"}, sent[by_tus][:CHUNK]
    )
    assert first.status == 204 and first.getheader("Upload-Offset") == str(CHUNK)
    cut = half_sent(
        server.port, "PATCH", location, {**patch_headers, "Upload-Offset": str(CHUNK)}, sent[by_tus][CHUNK:]
    )
    kill_the_worker_receiving(server, cut)
    cut.close()
    offset = int(request(server.port, "HEAD", location, tus_headers).getheader("Upload-Offset"))
    assert offset == CHUNK  # the cut PATCH is lost whole; the one before it is kept
    rest = sent[by_tus][offset:]
    for start in range(0, len(rest), CHUNK):
        resumed = request(
            server.port,
            "PATCH",
            location,
            {**patch_headers, "Upload-Offset": str(offset + start)},
            rest[start : start + CHUNK],
        )
        assert resumed.status == 204, resumed.status
    assert resumed.getheader("Qingshan-Photo")

    server.stop()
    web_server.database.read_back()
    assert recovery.photos_sweep(now=after_stuck_period()).sent == 2  # processed here, eagerly
    settings_temp = settings.FILE_UPLOAD_TEMP_DIR
    try:
        settings.FILE_UPLOAD_TEMP_DIR = str(web_server.spool)
        assert_contract(sent, isolated_storage)
    finally:
        settings.FILE_UPLOAD_TEMP_DIR = settings_temp
    assert list(web_server.spool.iterdir()) == []
    assert list(web_server.bodies.iterdir()) == []  # the killed worker's body files were unlinked ones
    staging = Path(settings.QINGSHAN_TUS_UPLOAD_DIR)
    assert [path.name for path in staging.iterdir()] == []
