"""The product's processes as the integration tests start them: the Procfile's web server and Celery workers.

One place for what every such test repeated: how a subprocess reaches the test
database (:class:`SubprocessDatabase`), the environment it is started with
(this test's database, var, media and tus folders), how it is known to be
ready (the web server answers ``/healthz``; a worker logs ``ready.``) and how
it is stopped. The web server is the Procfile's own ``web`` command line
(``tests/procfile.py``): uvicorn, the production process model.

No fixed sleeps: :func:`wait_until` polls a condition.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.db import connection

from tests.procfile import procfile_web_command


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout} s for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


class SubprocessDatabase:
    """The test database as another process reaches it, and back."""

    def __init__(self, tmp_path: Path) -> None:
        self.vendor = connection.vendor
        self.path = tmp_path / "db.sqlite3"

    def url(self) -> str:
        if self.vendor == "sqlite":
            connection.ensure_connection()
            target = sqlite3.connect(self.path)
            connection.connection.backup(target)
            target.close()
            return f"sqlite:///{self.path}"
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        return (
            f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )

    def read_back(self) -> None:
        """On SQLite, bring the subprocesses' writes into the test database."""
        if self.vendor == "sqlite":
            source = sqlite3.connect(self.path)
            source.backup(connection.connection)
            source.close()


def product_environment(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a product process on this test's database and folders (and ``extra``).

    The media and tus folders are the test's own (the autouse ``isolated_storage``).
    """
    default = cast(dict[str, Any], settings.STORAGES["default"])
    options: dict[str, Any] = default.get("OPTIONS", {})
    media = options.get("location") or settings.MEDIA_ROOT
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "QINGSHAN_VAR_DIR": str(settings.VAR_DIR),
        "QINGSHAN_MEDIA_ROOT": str(media),
        "QINGSHAN_TUS_UPLOAD_DIR": str(settings.QINGSHAN_TUS_UPLOAD_DIR),
        **extra,
    }


@dataclass
class Process:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _start(command: list[str], log: Path, environment: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=environment, stdout=out, stderr=subprocess.STDOUT
        )


# --- The web server ------------------------------------------------------------------------------


@dataclass
class WebServer(Process):
    port: int

    def worker_pids(self) -> list[int]:
        """The server's worker processes (uvicorn's children; the supervisor restarts one that dies)."""
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        pids = [int(pid) for pid in found.stdout.split()]
        # uvicorn's multiprocessing start method may add a resource tracker: it holds no socket.
        return [pid for pid in pids if _holds_listening_socket(pid, self.port)]

    def connection_owner(self, client: socket.socket) -> int | None:
        """The worker process that accepted ``client``'s connection (None until one has)."""
        inode = _server_side_inode(self.port, client.getsockname()[1])
        if inode is None:
            return None
        for pid in self.worker_pids():
            if inode in _socket_inodes(pid):
                return pid
        return None

    def has_read_everything(self, client: socket.socket) -> bool:
        """Whether the server side of ``client``'s connection has read every byte sent (queues empty)."""
        queues = _queues(self.port, client.getsockname()[1])
        client_side = _queues(client.getsockname()[1], self.port)
        return queues is not None and client_side is not None and queues[1] == 0 and client_side[0] == 0


def web_server(log: Path, database_url: str, **extra: str) -> WebServer:
    """Start the Procfile's web command on a free port, on this test's database and folders; wait for it."""
    port = free_port()
    command, variables = procfile_web_command(port)
    process = _start(command, log, {**product_environment(database_url, **variables), **extra})
    server = WebServer(process, log, port)

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(server.output())
        with contextlib.suppress(OSError):
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            probe.request("GET", "/healthz")
            return probe.getresponse().status in (200, 301)  # 301: told to redirect to HTTPS
        return False

    try:
        wait_until(answers, "the web server to answer")
    except BaseException:
        server.stop()
        raise
    return server


# --- Celery workers ------------------------------------------------------------------------------

# Celery's line for a task run to success: "Task <name>[<id>] succeeded in 0.05s: <return value>".
SUCCEEDED = re.compile(
    r"Task (?P<name>[\w.]+)\[(?P<id>[\w-]+)\] succeeded in [\d.e-]+s: (?P<result>.*)$", re.MULTILINE
)


@dataclass(frozen=True)
class Finished:
    """A task a worker ran to success, with its return value as the worker logged it."""

    name: str
    task_id: str
    result: str


@dataclass
class Worker(Process):
    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "ready." not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker did not start:\n{self.output()}")
            time.sleep(0.2)

    def finished(self) -> list[Finished]:
        """The tasks this worker has logged as succeeded so far."""
        return [
            Finished(match["name"], match["id"], match["result"].strip())
            for match in SUCCEEDED.finditer(self.output())
        ]


# One task at a time, in the worker's own process.
SOLO = ("-P", "solo", "-c", "1")


def celery_worker_command(*, queues: str, name: str, pool: tuple[str, ...] = SOLO) -> list[str]:
    """The command line of a Celery worker on ``queues``, named ``name@<host>``, as every test starts one."""
    return [
        *(sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, *pool),
        # The event heartbeat's timer (no event is sent: events are off) wakes the worker's loop
        # each second, so a SIGTERM is acted on within one: on RabbitMQ nothing else may wake it
        # for 10 s (kombu's hub polls that long when no timer is due).
        *("-n", f"{name}@%h", "--without-mingle", "--without-gossip", "--heartbeat-interval", "1"),
        *("--loglevel", "INFO"),
    ]


def celery_worker(
    log: Path,
    database_url: str,
    *,
    queues: str,
    name: str,
    pool: tuple[str, ...] = SOLO,
    environment: dict[str, str] | None = None,
) -> Worker:
    """Start a Celery worker on ``queues`` on this test's database and folders; wait until it is ready.

    Its database connections are not kept between tasks (``DATABASE_CONN_MAX_AGE=0``)
    unless ``environment`` (more variables) says otherwise.
    """
    command = celery_worker_command(queues=queues, name=name, pool=pool)
    variables = product_environment(database_url, **{"DATABASE_CONN_MAX_AGE": "0", **(environment or {})})
    worker = Worker(_start(command, log, variables), log)
    try:
        worker.wait_ready()
    except BaseException:
        worker.stop()
        raise
    return worker


def embedded_celery_worker(app: Any, *, queues: list[str], shutdown_timeout: float = 30) -> Any:
    """A real Celery worker in a thread of this process (``celery.contrib.testing``), one task at a time.

    A context manager. With the event heartbeat's timer, as :func:`celery_worker_command`'s, so
    that its stop is acted on within a second on RabbitMQ too (it waited up to 10 s there).
    """
    from celery.contrib.testing.worker import start_worker

    return start_worker(
        app,
        queues=queues,
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=shutdown_timeout,
        without_heartbeat=False,
        heartbeat_interval=1,
    )


# --- Sockets of a process, from /proc ------------------------------------------------------------


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    return inodes


def _tcp_rows() -> list[list[str]]:
    rows = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            rows += [line.split() for line in list(lines)[1:]]
    return rows


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1], 16)


def _server_side_inode(local_port: int, remote_port: int) -> str | None:
    for row in _tcp_rows():
        if _port(row[1]) == local_port and _port(row[2]) == remote_port and row[9] != "0":
            return row[9]
    return None


def _queues(local_port: int, remote_port: int) -> tuple[int, int] | None:
    """(send queue, receive queue) in bytes of the connection from ``local_port`` to ``remote_port``."""
    for row in _tcp_rows():
        if _port(row[1]) == local_port and _port(row[2]) == remote_port:
            tx, rx = row[4].split(":")
            return int(tx, 16), int(rx, 16)
    return None


def _holds_listening_socket(pid: int, port: int) -> bool:
    listening = {row[9] for row in _tcp_rows() if _port(row[1]) == port and row[3] == "0A"}
    return bool(listening & _socket_inodes(pid))
