"""The keys of the append-only ledgers, and the one switch that lets their rows be rewritten.

Case events are chained by HMAC-SHA256 under a key that lives in the
settings, never in the database (``QINGSHAN_LEDGER_KEY``): someone who can
edit rows cannot recompute the chain. Each event records the id of the key
that signed it, so keys rotate: the current key signs new events, old keys
(``QINGSHAN_LEDGER_OLD_KEYS``) still verify the events they signed until
``manage.py resign_case_history`` has re-signed every chain with the current
key. Key id 0 is the unkeyed SHA-256 of events written before keying; it is
never accepted as intact.

Database triggers refuse UPDATE and DELETE on the append-only tables. Only
:func:`ledger_rewrite` lifts them, for one connection and for the length of a
``with`` block: the test database flush and ``resign_case_history`` use it.
On PostgreSQL it is the session setting ``qingshan.ledger_rewrite``; on
SQLite the triggers call ``qingshan_ledger_rewrite()``, a function registered
on each connection (a connection without it, such as the sqlite3 shell, fails
closed: the trigger cannot run and the statement is refused).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

LEGACY_KEY_ID = 0
PG_SETTING = "qingshan.ledger_rewrite"
SQLITE_FUNCTION = "qingshan_ledger_rewrite"


def ledger_keys() -> dict[int, bytes]:
    """Every key that may verify an event, by id: the current one and the old ones."""
    keys: dict[int, bytes] = {int(k): v.encode() for k, v in settings.QINGSHAN_LEDGER_OLD_KEYS.items()}
    keys[settings.QINGSHAN_LEDGER_KEY_ID] = settings.QINGSHAN_LEDGER_KEY.encode()
    return keys


def ledger_current_key_id() -> int:
    """The id of the key that signs new events."""
    return int(settings.QINGSHAN_LEDGER_KEY_ID)


def ledger_hash(canonical: bytes, *, key_id: int) -> str | None:
    """The hash of ``canonical`` under key ``key_id``; ``None`` for an id whose key is not configured.

    Key id 0 is the unkeyed SHA-256 of events written before keying.
    """
    if key_id == LEGACY_KEY_ID:
        return hashlib.sha256(canonical).hexdigest()
    key = ledger_keys().get(key_id)
    if key is None:
        return None
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def _flag(wrapper: BaseDatabaseWrapper) -> dict[str, bool]:
    flag: dict[str, bool] | None = getattr(wrapper, "_qingshan_ledger_rewrite", None)
    if flag is None:
        flag = {"on": False}
        wrapper._qingshan_ledger_rewrite = flag  # type: ignore[attr-defined]
    return flag


def register_sqlite_function(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: give each SQLite connection the function its triggers call."""
    if connection.vendor != "sqlite":
        return
    flag = _flag(connection)
    connection.connection.create_function(SQLITE_FUNCTION, 0, lambda: 1 if flag["on"] else 0)


@contextmanager
def ledger_rewrite(using: str = "default") -> Iterator[None]:
    """Let this connection UPDATE and DELETE rows of the append-only tables inside the block."""
    wrapper = connections[using]
    if wrapper.vendor == "postgresql":
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', false)", [PG_SETTING])
        try:
            yield
        finally:
            # In a transaction that failed, its rollback undoes the setting made inside it.
            if not wrapper.needs_rollback:
                with wrapper.cursor() as cursor:
                    cursor.execute("SELECT set_config(%s, '', false)", [PG_SETTING])
        return
    wrapper.ensure_connection()
    flag = _flag(wrapper)
    flag["on"] = True
    try:
        yield
    finally:
        flag["on"] = False
