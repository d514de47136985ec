"""Django's SQLite backend, whose write transactions queue on a lock of the process first, with a pool.

Every transaction is ``BEGIN IMMEDIATE`` (settings): it takes SQLite's write lock at once,
so that two writers never deadlock upgrading a read lock. A transaction that finds the lock
taken waits in SQLite's busy handler, which polls in sleeps of up to 100 ms: under fifty
uploads at once a writer waited 180 ms (p50) for a lock held 5 ms at a time. Here the
threads of one process wait on a lock of their own before ``BEGIN IMMEDIATE`` and are woken
the moment the previous one commits, so the busy handler is left to arbitrate only between
processes (the web server's workers, Celery's worker and beat). What a transaction may do
and how it fails are unchanged: waiting longer than the connection's ``timeout`` is SQLite's
own ``database is locked``.

With ``OPTIONS["pool"]`` (the web server: ``DATABASE_POOL`` in the Procfile), a connection
Django closes is kept for the process's next request instead of closed, like Django's own
pool on PostgreSQL: under ASGI every request runs in a thread of its own, so Django opens a
connection per request, and opening one costs SQLite more than the queries of a photo upload
(the schema parsed again on its first statement, the pragmas; closing the last one
checkpoints the write-ahead log): 2.5-3 ms of CPU a request. A connection is kept only in
autocommit with no transaction open; at most ``max_size`` are kept, the others are closed;
a kept connection is only ever taken again by the process that opened it.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_locks_guard = threading.Lock()
_locks: dict[str, threading.Lock] = {}


def writer_lock(name: str) -> threading.Lock:
    """The process's lock of the database file ``name``."""
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


class ConnectionPool:
    """The idle connections of one process to one database file, at most ``max_size`` of them."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.idle: list[Any] = []

    def take(self) -> Any | None:
        """An idle connection of this process, or None."""
        with self.lock:
            if self.pid != os.getpid():  # a forked child never uses its parent's connections
                self.pid, self.idle = os.getpid(), []
            return self.idle.pop() if self.idle else None

    def give(self, connection: Any) -> bool:
        """Keep ``connection`` for a later request; False when the pool is full (the caller closes it)."""
        with self.lock:
            if self.pid != os.getpid() or len(self.idle) >= self.max_size:
                return False
            self.idle.append(connection)
            return True


_pools: dict[str, ConnectionPool] = {}


def connection_pool(name: str, max_size: int) -> ConnectionPool:
    """The process's pool of connections to the database file ``name``."""
    with _locks_guard:
        return _pools.setdefault(name, ConnectionPool(max_size))


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer_lock = False
    pool: ConnectionPool | None = None

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        options = params.pop("pool", None)
        if options:
            size = options.get("max_size", 10) if isinstance(options, dict) else 10
            self.pool = connection_pool(str(self.settings_dict["NAME"]), int(size))
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        kept = self.pool.take() if self.pool is not None else None
        if kept is None:
            return super().get_new_connection(conn_params)
        kept.execute("PRAGMA foreign_keys = ON")  # as a new connection has it
        return kept

    def _writer_wait(self) -> float:
        return float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))

    def _start_transaction_under_autocommit(self) -> None:
        lock = writer_lock(str(self.settings_dict["NAME"]))
        if not self._holds_writer_lock:
            if not lock.acquire(timeout=self._writer_wait()):
                raise OperationalError("database is locked")
            self._holds_writer_lock = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._writer_release()
            raise

    def _writer_release(self) -> None:
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            writer_lock(str(self.settings_dict["NAME"])).release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._writer_release()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._writer_release()

    def _close(self) -> None:
        try:
            if not self._kept():
                super()._close()  # type: ignore[misc]
        finally:
            self._writer_release()

    def _kept(self) -> bool:
        """Whether the connection went back to the pool (idle: in autocommit, no transaction open)."""
        connection = self.connection
        if self.pool is None or connection is None or self.in_atomic_block or connection.in_transaction:
            return False
        return self.pool.give(connection)

    def _set_autocommit(self, autocommit: bool) -> Any:
        result = super()._set_autocommit(autocommit)  # type: ignore[misc]
        if autocommit:
            self._writer_release()  # back in autocommit: no transaction holds the file
        return result
