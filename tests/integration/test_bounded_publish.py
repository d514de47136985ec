"""The bounded publish after a photo's commit keeps its broker connection, and outlives a restart.

``task_send_bounded`` publishes a photo's processing task with a timeout on
every socket operation. It used to open a new broker connection for every
photo (on Redis 10 ms of the web process's CPU per photo, and a connection per
photo for the broker to accept); it now keeps one per publishing thread. These
tests run it against a Redis server of their own (``redis-server`` on a free
port, nothing kept on disk), so that the broker's own counters say how many
connections it accepted and the server can be restarted under a kept connection.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from inspections.common.dispatch import task_send_bounded
from tests.integration.processes import free_port, wait_until

pytestmark = pytest.mark.slow

TASK = "inspections.photo_process"  # routed to the media queue (CELERY_TASK_ROUTES)
QUEUE = "media"


class RedisServer:
    """A ``redis-server`` subprocess on one port, that can be stopped and started again."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.observer: redis.Redis | None = None  # the test's own one connection, for the counters

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, f"redis-server on port {self.port}", timeout=30)
        self.observer = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)
        self.observer.ping()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(30)
            self.process = None
            self.observer = None

    def _answers(self) -> bool:
        try:
            with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5) as probe:
                return bool(probe.ping())
        except redis.RedisError:
            return False

    def accepted(self) -> int:
        """Connections the server accepted since it started (the probe's and the observer's too)."""
        assert self.observer is not None
        return int(self.observer.info("stats")["total_connections_received"])

    def queued(self) -> int:
        assert self.observer is not None
        return int(self.observer.llen(QUEUE))


@pytest.fixture
def broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{server.port}/0")
    try:
        yield server
    finally:
        server.stop()


def test_publishes_go_over_one_kept_connection(broker: RedisServer) -> None:
    assert task_send_bounded(TASK, 1)  # connects (kombu's Redis transport opens two sockets)
    after_first = broker.accepted()

    assert all(task_send_bounded(TASK, photo_id) for photo_id in range(2, 21))

    assert broker.queued() == 20
    assert broker.accepted() == after_first  # the other 19 over the kept connection


def test_a_kept_connection_to_a_restarted_broker_is_replaced_and_the_message_sent(
    broker: RedisServer,
) -> None:
    assert task_send_bounded(TASK, 1)
    broker.stop()  # the kept connection's socket now leads nowhere
    broker.start()

    assert task_send_bounded(TASK, 2)  # tried on the stale connection, then on a new one

    assert broker.queued() == 1  # the restarted server keeps nothing: only the second message
    assert task_send_bounded(TASK, 3)
    assert broker.queued() == 2


def test_with_the_broker_gone_a_publish_gives_up_within_its_bound_and_says_so(
    broker: RedisServer,
) -> None:
    assert task_send_bounded(TASK, 1)
    broker.stop()

    assert not task_send_bounded(TASK, 2)  # refused twice (stale, then new): left to the sweeper

    broker.start()
    assert task_send_bounded(TASK, 3)
    assert broker.queued() == 1
