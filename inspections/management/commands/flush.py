"""Django's ``flush``, with the append-only triggers lifted for the flush alone.

The triggers refuse DELETE (and TRUNCATE) on the append-only tables; emptying
the whole database is the one deletion they must let through: the test runner
flushes after every transactional test, and ``flush`` is the documented way to
start over. Nothing else deletes ledger rows.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS

from inspections.common.ledger import ledger_rewrite


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        with ledger_rewrite(options.get("database") or DEFAULT_DB_ALIAS):
            super().handle(**options)
