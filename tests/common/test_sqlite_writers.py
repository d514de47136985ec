"""The embedded runtime's SQLite backend queues one process's writers on a lock of its own.

Each test opens connections of the backend to a database file of its own (so it runs the
same whatever database the suite is on) and holds the lock in one while the other is
checked: nothing is timed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError

from config.sqlite.base import DatabaseWrapper, writer_lock
from tests.common.sqlite_backend import backend_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def database(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings_dict = backend_settings(tmp_path / "writers.sqlite3")
    yield settings_dict


def opened(settings_dict: dict[str, Any], *, timeout: float = 5) -> DatabaseWrapper:
    wrapper = DatabaseWrapper({**settings_dict, "OPTIONS": {**settings_dict["OPTIONS"], "timeout": timeout}})
    wrapper.ensure_connection()
    return wrapper


def begin(wrapper: DatabaseWrapper) -> None:
    """What ``transaction.atomic()`` does first on SQLite."""
    wrapper._start_transaction_under_autocommit()
    wrapper.autocommit = False


def test_a_transaction_holds_the_lock_until_it_commits_or_rolls_back(database: dict[str, Any]) -> None:
    lock = writer_lock(database["NAME"])
    first = opened(database)
    begin(first)
    first.cursor().execute("CREATE TABLE t (x integer)")
    assert lock.locked()
    first.commit()
    assert not lock.locked()
    begin(first)
    assert lock.locked()
    first.rollback()
    assert not lock.locked()
    begin(first)
    first.close()  # a connection closed inside a transaction lets go too
    assert not lock.locked()


def test_another_thread_waits_for_the_holder_then_fails_as_sqlite_would(database: dict[str, Any]) -> None:
    holder = opened(database)
    begin(holder)
    outcome: list[object] = []

    def write() -> None:
        other = opened(database, timeout=0.05)
        try:
            begin(other)
            outcome.append("began")
            other.rollback()
        except OperationalError as refusal:
            outcome.append(refusal)
        finally:
            other.close()

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    assert isinstance(outcome[0], OperationalError) and "locked" in str(outcome[0])

    holder.commit()
    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    assert outcome[1] == "began"
    holder.close()
    assert not writer_lock(database["NAME"]).locked()


def test_the_embedded_runtime_uses_it() -> None:
    from django.conf import settings

    if settings.EMBEDDED_DATABASE:
        assert settings.DATABASES["default"]["ENGINE"] == "config.sqlite"
    else:
        assert settings.DATABASES["default"]["ENGINE"] != "config.sqlite"
