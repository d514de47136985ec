"""Digests end to end: a real SMTP server (aiosmtpd) receives what real Celery workers send.

The broker is the configured one: kombu's folder transport on a fresh machine,
Redis when ``CELERY_BROKER_URL`` says so. Each test uses a queue of its own, so
no message left by an earlier run (or a killed worker) can reach it.

* the embedded worker (``embedded_celery_worker``: Celery's ``start_worker``) runs in
  this process and shares its database;
* the worker subprocesses (two at once, or one killed with SIGKILL) reach the
  test database through ``DATABASE_URL``: on PostgreSQL the test database
  itself, on SQLite a file copy of it that is read back afterwards.

No test sleeps for a while and hopes: each waits for a condition. A test is
done waiting when every fan-out it fired has run and every chunk those
fan-outs enqueued has finished (the workers' own account, from the
``task_postrun`` signal or the worker's log); nothing more can be sent then,
so the SMTP server's count is final.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery.app.routes import MapRoute
from celery.signals import task_postrun

from config.celery import app
from inspections.digests.models import DigestSend
from inspections.digests.tasks import send_digest_chunk, send_scheduled
from inspections.fieldwork.models import Inspection
from tests.builders import (
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
from tests.integration.processes import (
    Finished,
    SubprocessDatabase,
    Worker,
    celery_worker,
    embedded_celery_worker,
    free_port,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PERIOD = "2025-01-06"  # the week of Monday 6 January 2025
SECRET_VILLAGE = "330523101202"
FAN_OUT, CHUNK = DIGEST_TASKS = ("inspections.digests.send_scheduled", "inspections.digests.send_chunk")


def all_sent(finished: Callable[[], list[Finished]], *, fan_outs: int, chunks_by_hand: int = 0) -> bool:
    """``fan_outs`` fan-outs have run and every chunk enqueued (by them or by hand) has finished.

    A fan-out returns the number of chunks it enqueued; once that many chunks
    have succeeded no task is left to send anything, whatever order the
    broker delivered them in.
    """
    done = finished()
    fanned = [task for task in done if task.name == FAN_OUT]
    chunks = {task.task_id for task in done if task.name == CHUNK}
    expected = sum(int(task.result) for task in fanned) + chunks_by_hand
    return len(fanned) >= fan_outs and len(chunks) >= expected


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
    held: Received | None = None  # the delivery held, as far as the client got (then refused)
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
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if self.hold_at is not None and len(self.received) + 1 == self.hold_at:
            self.hold_at = None
            self.held = Received(rcpt, message)
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return "451 4.3.0 Interrupted"
        with self.lock:
            self.received.append(Received(rcpt, message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.rcpt]

    def addresses(self) -> list[str]:
        """Every recipient address of every accepted message, in the order accepted."""
        return [address for r in self.received for address in r.rcpt]


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
def finished_here() -> Iterator[Callable[[], list[Finished]]]:
    """The tasks the embedded worker (in this process) has run to success so far."""
    done: list[Finished] = []

    def record(task_id: str, task: Any, retval: Any, state: str, **kwargs: Any) -> None:
        if state == "SUCCESS":
            done.append(Finished(task.name, task_id, str(retval)))

    task_postrun.connect(record, weak=False)
    try:
        yield lambda: list(done)
    finally:
        task_postrun.disconnect(record)


@pytest.fixture
def embedded_worker(mail_settings: Any, digest_route: None, queue: str) -> Iterator[Any]:
    consuming = app.amqp.queues._consume_from
    try:
        with embedded_celery_worker(app, queues=[queue]) as worker:
            yield worker
    finally:
        app.amqp.queues._consume_from = consuming


def fire_schedule(queue: str) -> None:
    """What beat sends for the weekly entry (here for a fixed period)."""
    send_scheduled.apply_async(kwargs={"kind": "weekly", "period": PERIOD}, queue=queue)


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
    smtp: tuple[SmtpHandler, int],
    finished_here: Callable[[], list[Finished]],
    embedded_worker: Any,
    queue: str,
) -> None:
    handler, _port = smtp
    county_activity(YUCUN)
    county_activity(DEQING_VILLAGE, scale=2)
    # A visit in progress and one far ahead: no email may reveal either.
    for start, end in [(at(2025, 1, 12, 8), at(2025, 1, 15, 18)), (at(2099, 1, 1, 8), at(2099, 1, 2, 8))]:
        inspection(
            village=SECRET_VILLAGE, mode="random", status="scheduled", window_start=start, window_end=end
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
    wait_until(lambda: all_sent(finished_here, fan_outs=2), "both firings and their chunks")
    send_digest_chunk.apply_async(args=["weekly", PERIOD, [anji.pk, deqing.pk]], queue=queue)
    wait_until(lambda: all_sent(finished_here, fan_outs=2, chunks_by_hand=1), "the chunk sent again")

    assert sorted(handler.addresses()) == sorted([anji.email, anji_en.email, deqing.email, huzhou.email])

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


@pytest.fixture
def workers(tmp_path: Path, smtp: tuple[SmtpHandler, int], queue: str) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []
    database = SubprocessDatabase(tmp_path)
    url: list[str] = []

    def start(name: str, **env: str) -> Worker:
        if not url:
            url.append(database.url())
        worker = celery_worker(
            tmp_path / f"{name}.log",
            url[0],
            queues=queue,
            name=f"{name}-{queue}",
            environment={
                "EMAIL_URL": f"smtp://127.0.0.1:{smtp[1]}",
                "QINGSHAN_DIGEST_QUEUE": queue,
                "QINGSHAN_DIGEST_RETRY_SECONDS": "1",
                **env,
            },
        )
        started.append(worker)
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
    wait_until(
        lambda: all_sent(lambda: first.finished() + second.finished(), fan_outs=3),
        "the three firings and their chunks",
    )
    first.stop()
    second.stop()
    workers.database.read_back()

    assert sorted(handler.addresses()) == sorted(p.email for p in people)
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
    everyone = sorted(p.email for p in people)
    handler.hold_at = 3  # the third message stays in the SMTP conversation

    # Chunks of two: the broker hands them out in any order, so which recipient is held varies.
    doomed = workers("doomed", QINGSHAN_DIGEST_CHUNK_SIZE="2")
    fire_schedule(queue)
    assert handler.holding.wait(60), doomed.log.read_text()
    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait(10)
    handler.release.set()
    assert handler.held is not None
    [held] = handler.held.rcpt
    accepted = handler.addresses()
    assert len(accepted) == 2 and len({*accepted, held}) == 3

    # The rerun: a fresh worker for which the dead worker's claim is already stale
    # (a claim timeout of 0 s), the schedule fired again, then once more when all is sent.
    rerun = workers("rerun", QINGSHAN_DIGEST_CHUNK_SIZE="2", QINGSHAN_DIGEST_CLAIM_TIMEOUT_SECONDS="0")
    fire_schedule(queue)
    wait_until(lambda: all_sent(rerun.finished, fan_outs=1), "the rerun's fan-out and its chunks")
    fire_schedule(queue)
    wait_until(lambda: all_sent(rerun.finished, fan_outs=2), "the second firing of the rerun")
    rerun.stop()
    workers.database.read_back()

    resent = handler.addresses()[2:]
    assert sorted(resent) == sorted(set(everyone) - set(accepted))  # exactly what was not accepted
    assert sorted(accepted + resent) == everyone  # each recipient exactly once
    [again] = handler.to(held)
    assert again["Message-ID"] == handler.held.message["Message-ID"]  # the same message, sent again
    assert [task.result for task in rerun.finished() if task.name == FAN_OUT][1] == "0"  # nothing left
    sends = DigestSend.objects.select_related("recipient")
    assert {s.recipient.email: s.status for s in sends} == dict.fromkeys(everyone, "sent")
    # the held recipient was claimed by the killed worker, then by the rerun
    assert {s.recipient.email: s.attempts for s in sends} == {
        email: 2 if email == held else 1 for email in everyone
    }
