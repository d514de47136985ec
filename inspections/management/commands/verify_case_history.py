"""Check every case's event chain: exits 1 and names the case and event on any tampering."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inspections.cases.history import case_history_verify


class Command(BaseCommand):
    help = "Verify the hash chain of every case's events (altered, deleted or reordered events)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", type=int, action="append", help="Only this case id (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        checked, problems = case_history_verify(case_ids=options.get("case"))
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} problem(s) in the history of {checked} case(s).")
        self.stdout.write(self.style.SUCCESS(f"{checked} case(s): every event chain is intact."))
