"""Digests end to end: a real SMTP server (aiosmtpd) receives what real Celery workers send.

The broker is the configured one: kombu's folder transport on a fresh machine,
Redis when ``CELERY_BROKER_URL`` says so. Each test uses a queue of its own, so
no message left by an earlier run (or a killed worker) can reach it.

* the embedded worker (``celery.contrib.testing.worker.start_worker``) runs in
  this process and shares its database;
* the worker subprocesses (two at once, or one killed with SIGKILL) reach the
  test database through ``DATABASE_URL``: on PostgreSQL the test database
  itself, on SQLite a file copy of it that is read back afterwards.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery.app.routes import MapRoute
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.db import connection

from config.celery import app
from inspections.digests.models import DigestSend
from inspections.digests.tasks import send_digest_chunk, send_scheduled
from inspections.fieldwork.models import Inspection
from tests.digestdata import (
    ANJI,
    DEQING,
    DEQING_VILLAGE,
    HUZHOU,
    YUCUN,
    at,
    county_activity,
    inspection,
    recipient,
)

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2025-01-06"  # the week of Monday 6 January 2025
SECRET_VILLAGE = "330523101202"
DIGEST_TASKS = ("inspections.digests.send_scheduled", "inspections.digests.send_chunk")


# --- A real SMTP server ------------------------------------------------------------------


@dataclass
class Received:
    rcpt: list[str]
    message: EmailMessage


@dataclass
class SmtpHandler:
    """Stores what it accepts; can refuse (4xx) or hold a delivery on demand."""

    received: list[Received] = field(default_factory=list)
    refuse_once: set[str] = field(default_factory=set)
    hold_at: int | None = None  # hold the delivery that would be the n-th accepted
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        rcpt = list(envelope.rcpt_tos)
        with self.lock:
            refuse = bool(self.refuse_once.intersection(rcpt))
            self.refuse_once.difference_update(rcpt)
        if refuse:
            return "451 4.3.0 Try again later"
        if self.hold_at is not None and len(self.received) + 1 == self.hold_at:
            self.hold_at = None
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return "451 4.3.0 Interrupted"
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(Received(rcpt, message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.rcpt]

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} messages arrived in {timeout} s")
            time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpHandler, int]]:
    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        handler.release.set()
        controller.stop()


@pytest.fixture
def queue() -> str:
    return f"email-test-{uuid.uuid4().hex[:12]}"


# --- The embedded worker ----------------------------------------------------------------------


@pytest.fixture
def mail_settings(settings: Any, smtp: tuple[SmtpHandler, int], queue: str) -> Any:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp[1]
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 30
    settings.QINGSHAN_DIGEST_RETRY_SECONDS = 1
    return settings


@pytest.fixture
def digest_route(queue: str) -> Iterator[None]:
    """Route the digest tasks sent from this process to the test's queue (as the workers' env does)."""
    route = MapRoute({name: {"queue": queue} for name in DIGEST_TASKS})
    app.amqp.routes.insert(0, route)
    try:
        yield
    finally:
        app.amqp.routes.remove(route)


@pytest.fixture
def embedded_worker(mail_settings: Any, digest_route: None, queue: str) -> Iterator[Any]:
    consuming = app.amqp.queues._consume_from
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30
        ) as worker:
            yield worker
    finally:
        app.amqp.queues._consume_from = consuming


def fire_schedule(queue: str) -> None:
    """What beat sends for the weekly entry (here for a fixed period)."""
    send_scheduled.apply_async(kwargs={"kind": "weekly", "period": PERIOD}, queue=queue)


def settle(handler: SmtpHandler, count: int, quiet: float = 2.0) -> None:
    """Wait for ``count`` messages, then for ``quiet`` seconds without another."""
    handler.wait_for(count)
    seen = len(handler.received)
    while True:
        time.sleep(quiet)
        if len(handler.received) == seen:
            return
        seen = len(handler.received)


def parts(message: EmailMessage) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for part in message.walk():
        if part.get_content_maintype() == "multipart":
            continue
        if part.get_filename():
            found["csv_name"] = part.get_filename()
            found["csv_type"] = part.get_content_type()
            found["csv"] = part.get_payload(decode=True)
        else:
            found[part.get_content_type()] = part.get_content()
    return found


def test_a_real_worker_delivers_each_digest_once_through_smtp(
    smtp: tuple[SmtpHandler, int], embedded_worker: Any, queue: str
) -> None:
    handler, _port = smtp
    county_activity(YUCUN)
    county_activity(DEQING_VILLAGE, scale=2)
    # A visit in progress and a visit next month: no email may reveal either.
    inspection(
        SECRET_VILLAGE, window_start=at(2025, 1, 12, 8), window_end=at(2025, 1, 15, 18), status="scheduled"
    )
    inspection(
        SECRET_VILLAGE, window_start=at(2099, 1, 1, 8), window_end=at(2099, 1, 2, 8), status="scheduled"
    )
    anji = recipient(ANJI, username="anji", email="anji@example.cn")
    anji_en = recipient(ANJI, username="anji-en", email="anji-en@example.cn", language="en")
    deqing = recipient(DEQING, username="deqing", email="deqing@example.cn")
    huzhou = recipient(HUZHOU, username="huzhou", email="huzhou@example.cn")
    recipient("330502", username="wuxing", email="wuxing@example.cn")  # nothing happened there
    handler.refuse_once.add("deqing@example.cn")  # the first attempt gets a 4xx: the task retries

    # Beat fires twice (a duplicate), and a chunk is delivered again later.
    fire_schedule(queue)
    fire_schedule(queue)
    settle(handler, 4)
    send_digest_chunk.apply_async(args=["weekly", PERIOD, [anji.pk, deqing.pk]], queue=queue)
    time.sleep(2)

    assert sorted(address for r in handler.received for address in r.rcpt) == sorted(
        [anji.email, anji_en.email, deqing.email, huzhou.email]
    )

    [zh] = handler.to(anji.email)
    assert str(zh["Subject"]).strip() == "青山每周调度报告 · 区划330523 · 2025-01-06 – 2025-01-12"
    assert zh["Content-Language"] == "zh-hans"
    assert zh["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert zh["List-Unsubscribe"].strip().startswith("<http://127.0.0.1:8000/digests/unsubscribe/")
    assert zh["Message-ID"] == f"<digest.weekly.20250106.{anji.pk}@localhost>"
    body = parts(zh)
    assert "逾期问题" in body["text/plain"] and "逾期问题" in body["text/html"]
    assert "<img" not in body["text/html"] and 'style="' in body["text/html"]
    assert body["csv_name"] == "overdue-330523-20250106.csv" and body["csv_type"] == "text/csv"
    assert body["csv"].startswith(b"\xef\xbb\xbf")
    csv_text = body["csv"].decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("问题编号,村代码,村,问题")
    assert YUCUN in csv_text and "生活垃圾乱堆乱放" in csv_text

    [en] = handler.to(anji_en.email)
    assert str(en["Subject"]).strip().startswith("Qingshan weekly digest")
    assert "Overdue cases" in parts(en)["text/plain"]
    assert parts(en)["csv"].decode("utf-8-sig").startswith("Case,Village code,Village,Problem")

    # Scope: each county's email holds its own villages only; the prefecture's holds both.
    deqing_text = parts(handler.to(deqing.email)[0])["text/plain"]
    assert DEQING_VILLAGE in deqing_text and YUCUN not in deqing_text
    assert YUCUN in body["text/plain"] and DEQING_VILLAGE not in body["text/plain"]
    huzhou_text = parts(handler.to(huzhou.email)[0])["text/plain"]
    assert YUCUN in huzhou_text and DEQING_VILLAGE in huzhou_text
    # Embargo: the village with only upcoming visits appears nowhere.
    for received in handler.received:
        for content in parts(received.message).values():
            text = content.decode("utf-8-sig") if isinstance(content, bytes) else str(content)
            assert SECRET_VILLAGE not in text and "村202" not in text

    sends = {s.recipient.username: s for s in DigestSend.objects.select_related("recipient")}
    assert {name: s.status for name, s in sends.items()} == {
        "anji": "sent",
        "anji-en": "sent",
        "deqing": "sent",
        "huzhou": "sent",
        "wuxing": "skipped",
    }
    assert sends["deqing"].attempts == 2 and sends["anji"].attempts == 1
    assert sends["wuxing"].reason == "empty"
    assert Inspection.objects.filter(village__code=SECRET_VILLAGE).count() == 2


# --- Worker subprocesses ----------------------------------------------------------------------------


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
        """On SQLite, bring the workers' writes into the test database."""
        if self.vendor == "sqlite":
            source = sqlite3.connect(self.path)
            source.backup(connection.connection)
            source.close()


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "ready." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker did not start:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def workers(tmp_path: Path, smtp: tuple[SmtpHandler, int], queue: str) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []
    database = SubprocessDatabase(tmp_path)
    url: list[str] = []

    def start(name: str, **env: str) -> Worker:
        if not url:
            url.append(database.url())
        log = tmp_path / f"{name}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": url[0],
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp[1]}",
            "QINGSHAN_DIGEST_QUEUE": queue,
            "QINGSHAN_DIGEST_RETRY_SECONDS": "1",
            "QINGSHAN_VAR_DIR": str(django_settings.VAR_DIR),
            "DATABASE_CONN_MAX_AGE": "0",
            **env,
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-Q",
                    queue,
                    "-P",
                    "solo",
                    "-c",
                    "1",
                    "-n",
                    f"{name}-{queue}@%h",
                    "--without-mingle",
                    "--without-gossip",
                    "--without-heartbeat",
                    "--loglevel",
                    "INFO",
                ],
                cwd=ROOT,
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


def test_two_workers_and_duplicate_firings_send_each_digest_once(
    smtp: tuple[SmtpHandler, int], workers: Any, queue: str, settings: Any
) -> None:
    handler, _port = smtp
    county_activity(YUCUN)
    people = [recipient(ANJI, username=f"sup{n}", email=f"sup{n}@example.cn") for n in range(6)]
    first = workers("first", QINGSHAN_DIGEST_CHUNK_SIZE="1")
    second = workers("second", QINGSHAN_DIGEST_CHUNK_SIZE="1")

    for _ in range(3):
        fire_schedule(queue)
    settle(handler, 6, quiet=3)
    first.stop()
    second.stop()
    workers.database.read_back()

    assert sorted(a for r in handler.received for a in r.rcpt) == sorted(p.email for p in people)
    assert set(DigestSend.objects.values_list("status", flat=True)) == {"sent"}
    both = first.log.read_text() + second.log.read_text()
    assert "inspections.digests.send_chunk" in first.log.read_text()
    assert "inspections.digests.send_chunk" in second.log.read_text()
    assert "Traceback" not in both


def test_a_worker_killed_mid_fan_out_then_a_rerun_sends_only_what_is_missing(
    smtp: tuple[SmtpHandler, int], workers: Any, queue: str, settings: Any
) -> None:
    handler, _port = smtp
    county_activity(YUCUN)
    people = [recipient(ANJI, username=f"sup{n}", email=f"sup{n}@example.cn") for n in range(5)]
    handler.hold_at = 3  # the third message stays in the SMTP conversation

    doomed = workers("doomed", QINGSHAN_DIGEST_CHUNK_SIZE="2")
    fire_schedule(queue)
    assert handler.holding.wait(60), doomed.log.read_text()
    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait(10)
    handler.release.set()
    assert len(handler.received) == 2

    # The rerun: a fresh worker, once the dead worker's claim is stale, and the schedule fired again.
    rerun = workers("rerun", QINGSHAN_DIGEST_CHUNK_SIZE="2", QINGSHAN_DIGEST_CLAIM_TIMEOUT_SECONDS="1")
    time.sleep(1.5)
    fire_schedule(queue)
    settle(handler, 5)
    fire_schedule(queue)
    time.sleep(3)
    rerun.stop()
    workers.database.read_back()

    assert sorted(a for r in handler.received for a in r.rcpt) == sorted(p.email for p in people)
    sends = list(DigestSend.objects.order_by("recipient_id"))
    assert [s.status for s in sends] == ["sent"] * 5
    assert [s.attempts for s in sends] == [1, 1, 2, 1, 1]  # the third was claimed by the killed worker
