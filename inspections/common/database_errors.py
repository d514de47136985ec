"""Which exceptions come from the database: Django's, and the driver's own where Django lets one through.

Django translates the driver's errors into ``django.db.DatabaseError`` and its subclasses around
``execute`` and the ``fetch*`` calls, but not around closing a cursor: a ``QuerySet.iterator()``
on PostgreSQL reads through a server-side cursor, and when the connection is cut mid-way the
cursor's close raises psycopg's own ``OperationalError`` (seen under a database cut while
photos were processed). Code that tells a database error apart (to retry it, or to answer 503)
asks here, so that both kinds are one rule.
"""

from __future__ import annotations

from types import ModuleType

from django.db import DatabaseError, InterfaceError, OperationalError, connection


def _driver() -> ModuleType:
    """The DB-API module of the default database (psycopg, sqlite3)."""
    module: ModuleType = connection.Database  # type: ignore[attr-defined]
    return module


def database_errors() -> tuple[type[Exception], ...]:
    """Every error of the database: Django's ``DatabaseError`` and the driver's ``Error``."""
    return (DatabaseError, _driver().Error)


def unavailable_errors() -> tuple[type[Exception], ...]:
    """The database cannot be reached or the connection broke (Django's and the driver's)."""
    driver = _driver()
    return (OperationalError, InterfaceError, driver.OperationalError, driver.InterfaceError)
