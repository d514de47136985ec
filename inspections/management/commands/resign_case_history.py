"""Re-sign every intact case history with the current ledger key (the last step of a key rotation)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inspections.cases.history import case_history_resign
from inspections.common.ledger import ledger_current_key_id


class Command(BaseCommand):
    help = (
        "Re-sign the event chain of every case with the current QINGSHAN_LEDGER_KEY, so that old keys "
        "can be removed. Chains that do not verify are left as they are and reported (exit 1)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", type=int, action="append", help="Only this case id (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        resigned, problems = case_history_resign(case_ids=options.get("case"))
        for problem in problems:
            self.stderr.write(problem)
        self.stdout.write(f"{resigned} case(s) re-signed with key {ledger_current_key_id()}.")
        if problems:
            raise CommandError(f"{len(problems)} problem(s): those chains were left as they are.")
