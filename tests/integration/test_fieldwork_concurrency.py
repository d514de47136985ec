"""Concurrent duplicates and a real Celery worker.

The duplicate tests send the same create from several threads at once, each
on its own database connection: the unique constraint, not a read before the
insert, must leave exactly one row and answer every request 200 or 201. They
need PostgreSQL (SQLite serialises writers, so there is no race to lose).

The worker test starts a real Celery worker (``embedded_celery_worker``) on the
configured broker (the folder broker by default, Redis in CI) and lets it
process an uploaded photo.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from inspections.evidence.models import Photo
from inspections.fieldwork.models import CheckIn, Finding
from tests import builders
from tests.builders import YUCUN_WGS84, camera_jpeg, category, upload
from tests.builders import inspector as team_member
from tests.conftest import client_for
from tests.integration.processes import embedded_celery_worker

pytestmark = pytest.mark.slow


def needs_postgresql(test: Any) -> Any:
    return test  # SQLite tests run on a database file too (WAL, busy timeout): real concurrency


THREADS = 8


def race(send: Callable[[], Any]) -> list[int]:
    """Run ``send`` from THREADS threads released together; their status codes."""
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            statuses.append(send().status_code)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return statuses


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_findings_create_exactly_one_row() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    category("garbage-pile")
    body = {
        "client_uuid": str(uuid.uuid4()),
        "inspection": inspection.pk,
        "category": "garbage-pile",
        "severity": "serious",
        "description": "同一条记录",
    }

    statuses = race(lambda: client_for(member.user).post("/api/v1/findings/", body, format="json"))

    assert sorted(statuses) == [200] * (THREADS - 1) + [201]
    assert Finding.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_check_ins_create_exactly_one_row() -> None:
    member = team_member()
    inspection = builders.inspection(team=[member])
    body = {
        "client_uuid": str(uuid.uuid4()),
        "longitude": YUCUN_WGS84[0],
        "latitude": YUCUN_WGS84[1],
        "accuracy_m": 5,
        "device_time": "2026-06-01T10:00:00+08:00",
    }
    url = f"/api/v1/inspections/{inspection.pk}/check-in/"

    statuses = race(lambda: client_for(member.user).post(url, body, format="json"))

    assert sorted(statuses) == [200] * (THREADS - 1) + [201]
    assert CheckIn.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_photos_create_exactly_one_row_and_one_file(
    isolated_storage: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("inspections.evidence.services.enqueue_on_commit_or_sweep", lambda *args: None)
    member = team_member()
    inspection = builders.inspection(team=[member])
    content = camera_jpeg(size=(320, 240))
    photo_uuid = uuid.uuid4()

    statuses = race(lambda: upload(client_for(member.user), inspection, content, client_uuid=photo_uuid))

    assert sorted(statuses) == [200] * (THREADS - 1) + [201]
    assert Photo.objects.count() == 1
    assert len(list((isolated_storage / "photos" / "originals").iterdir())) == 1


@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_processes_an_uploaded_photo(settings: Any) -> None:
    from config.celery import app
    from inspections import tasks  # noqa: F401  (registers the task)

    member = team_member()
    inspection = builders.inspection(team=[member])
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(key)
        if folder:  # the folder broker needs its folders; a fresh checkout has none yet
            Path(folder).mkdir(parents=True, exist_ok=True)
    # Leftovers of earlier runs on a shared broker are not this test's business;
    # a queue that never existed has nothing to purge.
    with app.connection_for_write() as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_purge("media")

    with embedded_celery_worker(app, queues=["media"], shutdown_timeout=20):
        response = upload(client_for(member.user), inspection, camera_jpeg(gps=YUCUN_WGS84, size=(1200, 900)))
        assert response.status_code == 201
        photo = Photo.objects.get(client_uuid=response.json()["client_uuid"])
        deadline = time.monotonic() + 60
        while photo.status != Photo.Status.READY and time.monotonic() < deadline:
            time.sleep(0.2)
            photo.refresh_from_db()

    assert photo.status == Photo.Status.READY
    assert photo.thumbnail and photo.preview and photo.phash is not None


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_in_one_county_all_count_and_agree_with_a_recount() -> None:
    """Submissions in one county lock its tallies' rows in one order: none deadlocks or is lost."""
    from inspections.fieldwork.coverage import coverage_recount
    from inspections.fieldwork.models import CoverageTally

    members = [team_member() for _ in range(THREADS)]
    # Half the visits in one village (the same new-village race), half in its neighbours.
    codes = ["330523101201"] * (THREADS // 2) + [f"330523101{n:03d}" for n in range(202, 202 + THREADS // 2)]
    inspections = [
        builders.inspection(village=code, team=[member]) for code, member in zip(codes, members, strict=True)
    ]
    turns = iter(zip(inspections, members, strict=True))
    lock = threading.Lock()

    def send() -> Any:
        with lock:
            inspection, member = next(turns)
        return client_for(member.user).post(
            f"/api/v1/inspections/{inspection.pk}/submit/", {"summary": "看过了"}, format="json"
        )

    statuses = race(send)
    assert sorted(statuses) == [200] * THREADS or sorted(statuses) == [201] * THREADS, statuses

    def tallies() -> dict[tuple[int, str, str], tuple[int, int]]:
        return {(t.year, t.area, t.mode): (t.villages, t.inspections) for t in CoverageTally.objects.all()}

    running = tallies()
    county = [v for (_, area, mode), v in running.items() if area == "330523" and mode == ""]
    assert county == [(1 + THREADS // 2, THREADS)]
    coverage_recount()
    assert tallies() == running
