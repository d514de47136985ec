"""Faults made where Django meets the database, shared by the fast tests and the fault tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections


@contextlib.contextmanager
def commit_then_lose_the_answer() -> Iterator[Callable[[], bool]]:
    """The next COMMIT is carried out by the database, then its answer is lost.

    Django's connection wrapper commits on the DB-API connection (``_commit``);
    raising right after it is what a connection cut between the server's
    COMMIT and its reply looks like to the web process. Yields whether it
    happened.
    """
    wrapper = connections[DEFAULT_DB_ALIAS]
    real_commit = wrapper._commit  # type: ignore[attr-defined]
    happened: list[bool] = []

    def commit_and_lose() -> None:
        real_commit()
        wrapper.__dict__.pop("_commit", None)  # once
        happened.append(True)
        raise OperationalError("server closed the connection unexpectedly")

    wrapper._commit = commit_and_lose  # type: ignore[attr-defined]
    try:
        yield lambda: bool(happened)
    finally:
        wrapper.__dict__.pop("_commit", None)


def drivers_own_error(message: str) -> Exception:
    """The driver's ``OperationalError`` (psycopg's, sqlite3's), as Django lets it through unwrapped.

    Raised from an execute wrapper, it reaches the caller untranslated, as psycopg's does when a
    cut connection fails the close of ``QuerySet.iterator()``'s server-side cursor.
    """
    error: Exception = connection.Database.OperationalError(message)  # type: ignore[attr-defined]
    return error


@contextlib.contextmanager
def unreachable_database() -> Iterator[None]:
    """The default connection points at a database that cannot be reached (a file in no folder, or
    a port nobody listens on); the real one is back afterwards."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-folder/qingshan.sqlite3"
    else:
        connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "1"})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
