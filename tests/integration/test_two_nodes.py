"""Two web nodes behind a round-robin proxy, sharing only the database, the broker and the bucket.

Each node (gunicorn) has var/, media, tus and spool folders of its own; the
media and the tus staging are on the S3 server (moto). A phone's tus upload
is created on node B, cut on node A, and resumed on node B after node A has
died (killed with SIGKILL: nothing of it is left); the photo is processed by
a media worker in a third process, and the week's digests are sent by an
email worker in a fourth, to a real SMTP server (aiosmtpd).

The database is PostgreSQL in CI (the test database itself); on SQLite it is
a file copy of the test database that every process opens (one machine), read
back at the end.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from rest_framework_simplejwt.tokens import RefreshToken

from config.celery import app
from inspections.digests.models import DigestSend
from inspections.digests.tasks import send_scheduled
from inspections.evidence.models import Photo
from tests import builders
from tests.builders import ANJI, YUCUN, county_activity, recipient
from tests.builders import inspector as team_member
from tests.integration.object_store import (
    new_bucket,
    object_names,
    s3_client,
    s3_environment,
)
from tests.integration.processes import SubprocessDatabase, Worker, celery_worker_command, wait_until
from tests.integration.test_digest_delivery import (
    PERIOD,
    SmtpHandler,
    all_sent,
    smtp,  # noqa: F401 - the fixture, asked for by name below
)
from tests.integration.test_upload_faults import half_sent, noise_jpeg

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


# --- the round-robin proxy -------------------------------------------------------------------------


@dataclass
class RoundRobinProxy:
    """A TCP proxy: each connection goes to the next node in turn, skipping nodes that refuse."""

    nodes: list[tuple[str, int]]
    served: list[int] = field(default_factory=list)  # the node index of each connection, in order
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            upstream = self._connect()
            if upstream is None:
                client.close()
                continue
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    def _connect(self) -> socket.socket | None:
        with self._lock:
            for _ in self.nodes:
                index = self._next
                self._next = (self._next + 1) % len(self.nodes)
                try:
                    upstream = socket.create_connection(self.nodes[index], timeout=5)
                except OSError:
                    continue  # a dead node: the next one takes the connection
                upstream.settimeout(None)
                self.served.append(index)
                return upstream
        return None

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.closed = True
        self.listener.close()


# --- the processes -------------------------------------------------------------------------------


@dataclass
class Node:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def kill(self) -> None:
        """The node's death: its whole process group, at once, without a chance to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        wait_until(self.refuses, "the dead node's port to refuse connections")

    def refuses(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
        except ConnectionRefusedError:
            return True
        return False


def shared_environment(
    database_url: str, endpoint: str, bucket: str, queues: dict[str, str]
) -> dict[str, str]:
    environment = {
        **os.environ,
        **s3_environment(endpoint, bucket),
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "0",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "QINGSHAN_MEDIA_QUEUE": queues["media"],
        "QINGSHAN_DIGEST_QUEUE": queues["email"],
    }
    if app.conf.broker_url.startswith("filesystem://"):
        # The embedded broker is a folder: the one shared thing of that kind on one machine.
        environment["QINGSHAN_BROKER_DIR"] = str(
            Path(app.conf.broker_transport_options["data_folder_in"]).parent
        )
    return environment


def own_folders(root: Path) -> dict[str, str]:
    """var/, media, tus staging and the upload spool of one process, under ``root``."""
    for name in ("var", "media", "tus", "spool"):
        (root / name).mkdir(parents=True, exist_ok=True)
    return {
        "QINGSHAN_VAR_DIR": str(root / "var"),
        "QINGSHAN_MEDIA_ROOT": str(root / "media"),
        "QINGSHAN_TUS_UPLOAD_DIR": str(root / "tus"),
        "QINGSHAN_UPLOAD_TEMP_DIR": str(root / "spool"),
    }


def answers(port: int) -> bool:
    with contextlib.suppress(OSError):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    return False


@dataclass
class Cluster:
    tmp_path: Path
    environment: dict[str, str]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def web(self, name: str) -> Node:
        with socket.create_server(("127.0.0.1", 0)) as probe:
            port = probe.getsockname()[1]
        log = self.tmp_path / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"),
                    *("--workers", "1", "--timeout", "120", "--access-logfile", "-"),
                    *("--control-socket", str(self.tmp_path / f"{name}.ctl")),
                ],
                cwd=settings.BASE_DIR,
                env={**self.environment, **own_folders(self.tmp_path / name)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)

        def up() -> bool:
            assert process.poll() is None, log.read_text(errors="replace")
            return answers(port)

        wait_until(up, f"{name} to answer")
        return Node(process, port, log)

    def worker(self, name: str, queue: str) -> Worker:
        log = self.tmp_path / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                celery_worker_command(queues=queue, name=f"{name}-{uuid.uuid4().hex[:8]}"),
                cwd=settings.BASE_DIR,
                env={**self.environment, **own_folders(self.tmp_path / name)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        worker = Worker(process, log)
        worker.wait_ready()
        return worker

    def stop(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)


@pytest.fixture
def queues() -> dict[str, str]:
    """Queues of this test's own: no message of another run (or another checkout) reaches them."""
    tag = uuid.uuid4().hex[:12]
    return {"media": f"media-test-{tag}", "email": f"email-test-{tag}"}


@pytest.fixture
def cluster_for(tmp_path: Path, s3_endpoint: str, queues: dict[str, str]) -> Iterator[Callable[[], Cluster]]:
    made: list[Cluster] = []
    database = SubprocessDatabase(tmp_path)

    def make() -> Cluster:
        bucket = new_bucket(s3_endpoint)
        cluster = Cluster(tmp_path, shared_environment(database.url(), s3_endpoint, bucket, queues))
        cluster.bucket = bucket  # type: ignore[attr-defined]
        cluster.database = database  # type: ignore[attr-defined]
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.stop()


def call(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    return response


# --- the test --------------------------------------------------------------------------------------


def test_an_upload_cut_on_one_node_resumes_on_the_other_and_workers_elsewhere_process_and_mail(
    cluster_for: Callable[[], Cluster],
    request: pytest.FixtureRequest,
    s3_endpoint: str,
    queues: dict[str, str],
) -> None:
    mail_server: tuple[SmtpHandler, int] = request.getfixturevalue("smtp")
    handler, smtp_port = mail_server
    member = team_member()
    inspection = builders.inspection(team=[member])
    county_activity(YUCUN)
    people = [recipient(ANJI, username=f"sup{n}", email=f"sup{n}@example.cn") for n in range(3)]
    token = str(RefreshToken.for_user(member.user).access_token)
    tus = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    photo_uuid = uuid.uuid4()
    content = noise_jpeg(7)

    cluster = cluster_for()
    cluster.environment["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    node_a, node_b = cluster.web("node-a"), cluster.web("node-b")
    media_worker = cluster.worker("media-worker", queues["media"])
    email_worker = cluster.worker("email-worker", queues["email"])
    proxy = RoundRobinProxy([("127.0.0.1", node_a.port), ("127.0.0.1", node_b.port)])
    try:
        options = call(proxy.port, "OPTIONS", "/api/v1/uploads/", tus)  # node A
        metadata = ",".join(
            f"{key} {base64.b64encode(value.encode()).decode()}"
            for key, value in {"client_uuid": str(photo_uuid), "inspection": str(inspection.pk)}.items()
        )
        created = call(  # node B
            proxy.port,
            "POST",
            "/api/v1/uploads/",
            {**tus, "Upload-Length": str(len(content)), "Upload-Metadata": metadata},
        )
        location = "/api/" + created.getheader("Location").split("/api/", 1)[1]
        patch_headers = {**tus, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
        # node A: half the body, then the phone loses its signal
        half_sent(proxy.port, "PATCH", location, patch_headers, content).close()
        half = len(content) // 2

        def offset() -> int:
            return int(call(proxy.port, "HEAD", location, tus).getheader("Upload-Offset"))

        wait_until(lambda: offset() == half, "node A to record the offset of what arrived")
        node_a.kill()
        served_before_resume = len(proxy.served)
        offset_after_death = offset()
        resumed = call(
            proxy.port,
            "PATCH",
            location,
            {**patch_headers, "Upload-Offset": str(offset_after_death)},
            content[offset_after_death:],
        )

        def status() -> str:
            response = call(proxy.port, "GET", f"/api/v1/photos/{photo_uuid}/", tus)
            return str(json.loads(response.body)["status"])

        wait_until(lambda: status() == "ready", "the media worker to process the photo")

        send_scheduled.apply_async(kwargs={"kind": "weekly", "period": PERIOD}, queue=queues["email"])
        wait_until(lambda: all_sent(email_worker.finished, fan_outs=1), "the digest fan-out and its chunks")
    finally:
        proxy.close()

    assert options.status == 204 and created.status == 201
    assert proxy.served[:3] == [0, 1, 0]  # options on A, creation on B, the cut PATCH on A
    assert offset_after_death == half
    assert resumed.status == 204, resumed.body
    assert set(proxy.served[served_before_resume:]) == {1}  # A is dead: B answered everything after
    # Processed in the media worker's process, with the bytes the phone sent, from the bucket.
    assert any(task.name == "inspections.photo_process" for task in media_worker.finished())
    names = object_names(s3_endpoint, cluster.bucket)  # type: ignore[attr-defined]
    original = next(name for name in names if name.startswith("photos/originals/"))
    stored = s3_client(s3_endpoint).get_object(Bucket=cluster.bucket, Key=original)  # type: ignore[attr-defined]
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == hashlib.sha256(content).hexdigest()
    assert hashlib.sha256(content).hexdigest() in original
    assert sum(name.startswith("photos/renditions/") for name in names) == 2
    assert not [name for name in names if name.startswith("photos/staging/")]
    # No byte of the upload on any node's own disk: the staging was the bucket's (with SQLite, one
    # machine, the append lock is an empty lock file there).
    for node in ("node-a", "node-b"):
        assert not [path for path in (cluster.tmp_path / node / "tus").iterdir() if path.suffix != ".lock"]
        assert not any(path.stat().st_size for path in (cluster.tmp_path / node / "tus").iterdir())
        assert not any((cluster.tmp_path / node / "media").iterdir())
    # The digests, each once, from the worker elsewhere.
    assert sorted(handler.addresses()) == sorted(person.email for person in people)
    cluster.stop()
    cluster.database.read_back()  # type: ignore[attr-defined]
    assert Photo.objects.get(client_uuid=photo_uuid).status == Photo.Status.READY
    assert set(DigestSend.objects.values_list("status", flat=True)) == {"sent"}
    assert "Traceback" not in node_b.log.read_text(errors="replace")
