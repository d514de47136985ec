"""The embedded runtime's SQLite backend keeps the web server's connections for the next request.

Each test opens connections of the backend to a database file of its own, with the pool
the web server's settings give (``OPTIONS["pool"]``), and looks at which raw SQLite
connection Django is handed: the one closed before, or a new one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from config.sqlite.base import DatabaseWrapper, connection_pool, writer_lock
from tests.common.sqlite_backend import backend_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def pooled(tmp_path: Path) -> dict[str, Any]:
    return backend_settings(tmp_path / "pooled.sqlite3", pool={"max_size": 2})


def opened(settings_dict: dict[str, Any]) -> DatabaseWrapper:
    wrapper = DatabaseWrapper(settings_dict)
    wrapper.ensure_connection()
    return wrapper


def test_a_closed_connection_is_handed_to_the_next_request(pooled: dict[str, Any]) -> None:
    first = opened(pooled)
    raw = first.connection
    first.cursor().execute("CREATE TABLE t (x integer)")
    first.close()
    assert first.connection is None  # closed for Django

    second = opened(pooled)
    assert second.connection is raw
    with second.cursor() as cursor:
        cursor.execute("INSERT INTO t VALUES (1)")
        cursor.execute("SELECT count(*) FROM t")
        assert cursor.fetchone() == (1,)
    second.close()


def test_without_the_pool_every_connection_is_new_and_closed(tmp_path: Path) -> None:
    plain = backend_settings(tmp_path / "plain.sqlite3", pool=None)
    first = opened(plain)
    raw = first.connection
    first.close()
    second = opened(plain)
    assert second.connection is not raw
    with pytest.raises(Exception, match="closed"):
        raw.execute("SELECT 1")
    second.close()


def test_a_connection_closed_inside_a_transaction_is_closed_not_kept(pooled: dict[str, Any]) -> None:
    first = opened(pooled)
    first.cursor().execute("CREATE TABLE t (x integer)")
    raw = first.connection
    first._start_transaction_under_autocommit()  # what atomic() does first on SQLite
    first.autocommit = False
    first.cursor().execute("INSERT INTO t VALUES (1)")
    first.close()
    assert not writer_lock(pooled["NAME"]).locked()

    second = opened(pooled)
    assert second.connection is not raw
    with second.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")
        assert cursor.fetchone() == (0,)  # the open transaction was rolled back with its connection
    second.close()


def test_at_most_max_size_connections_are_kept(pooled: dict[str, Any]) -> None:
    wrappers = [opened(pooled) for _ in range(3)]
    raws = [wrapper.connection for wrapper in wrappers]
    for wrapper in wrappers:
        wrapper.close()
    pool = connection_pool(pooled["NAME"], 2)
    assert pool.idle == raws[:2]  # the third found the pool full and was closed
    with pytest.raises(Exception, match="closed"):
        raws[2].execute("SELECT 1")
    for wrapper in wrappers[:2]:
        wrapper.ensure_connection()
        wrapper.close()


def test_a_kept_connection_checks_foreign_keys_again(pooled: dict[str, Any]) -> None:
    first = opened(pooled)
    assert first.disable_constraint_checking()
    first.close()  # kept with the constraints off, as a schema change might leave it

    second = opened(pooled)
    with second.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone() == (1,)
    second.close()


def test_another_process_never_takes_a_kept_connection(pooled: dict[str, Any]) -> None:
    first = opened(pooled)
    raw = first.connection
    first.close()
    pool = connection_pool(pooled["NAME"], 2)
    pool.pid = os.getpid() + 1  # as a forked child sees the parent's pool

    second = opened(pooled)
    assert second.connection is not raw
    assert pool.pid == os.getpid() and pool.idle == []
    second.close()
    assert len(pool.idle) == 1 and pool.idle[0] is not raw
