"""The same frozen candidates and seed give the same villages and teams in a new process on another database.

The draw runs here, on the test database (SQLite or PostgreSQL). Its rows are
exported with ``dumpdata``, loaded into a fresh database of the *other*
backend by a new Python process, and ``manage.py verify_draw`` re-runs the
draw there from the stored candidates and revealed seed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from inspections.fieldwork.models import Inspection
from inspections.sampling.services import (
    draw_publish,
    sampling_plan_commit,
    sampling_plan_draw,
    sampling_plan_enter_beacon,
)
from tests.builders import organiser, plan, region, roster

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

POSTGRES_ADMIN_URL = os.environ.get(
    "QINGSHAN_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def other_database(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on the backend the tests are not running on.

    On SQLite that is PostgreSQL where one answers. A machine with nothing but
    Python has none: the replay then goes to a fresh SQLite file (still a new
    process and a new database), and CI's PostgreSQL run covers the other
    direction, PostgreSQL to SQLite.
    """
    if connection.vendor == "postgresql":
        yield f"sqlite:///{tmp_path / 'other.sqlite3'}"
        return
    import psycopg

    name = f"qs_reproduce_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        warnings.warn(
            f"no PostgreSQL at {POSTGRES_ADMIN_URL}: replaying the draw on a fresh SQLite file instead",
            stacklevel=1,
        )
        yield f"sqlite:///{tmp_path / 'other.sqlite3'}"
        return
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SECRET_KEY": "reproduce-only-secret"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_same_frozen_inputs_and_seed_give_the_same_draw_in_a_new_process_on_another_backend(
    tmp_path: Path, other_database: str
) -> None:
    region()
    roster(per_county=3)
    boss = organiser()
    the_plan = plan(by=boss, sample_size=6)
    sampling_plan_commit(plan=the_plan, user=boss)
    sampling_plan_enter_beacon(plan=the_plan, user=boss, value="2025-100: 3 7 9", source="福彩3D")
    draw = sampling_plan_draw(plan=the_plan, user=boss)
    Inspection.objects.filter(assignment__draw=draw).update(status="submitted", submitted_at=timezone.now())
    draw = draw_publish(draw=draw)
    fixture = tmp_path / "draw.json"
    call_command(
        "dumpdata", "villages", "inspections", "--natural-foreign", "--output", str(fixture), verbosity=0
    )

    migrated = manage("migrate", "--noinput", database_url=other_database)
    assert migrated.returncode == 0, migrated.stderr
    loaded = manage("loaddata", str(fixture), database_url=other_database)
    assert loaded.returncode == 0, loaded.stderr
    verified = manage("verify_draw", str(draw.pk), "--json", database_url=other_database)

    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["identical"] is True
    assert report["result_sha256"] == draw.result_sha256
    assert {c["name"] for c in report["checks"]} >= {
        "candidate list hash",
        "seed commitment",
        "result",
        "result hash",
    }
    assert other_database.startswith("sqlite:") != (connection.vendor == "sqlite") or not _postgres_answers()


def _postgres_answers() -> bool:
    import psycopg

    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True
