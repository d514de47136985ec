"""Check every case's event chain: exits 1 and names the case and event on any tampering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inspections.cases.history import case_history_check_anchor, case_history_verify


class Command(BaseCommand):
    help = "Verify the hash chain of every case's events (altered, deleted or reordered events)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", type=int, action="append", help="Only this case id (repeatable).")
        parser.add_argument(
            "--anchor",
            type=Path,
            action="append",
            help="Also check the history against this anchor file of anchor_case_history (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        checked, problems = case_history_verify(case_ids=options.get("case"))
        for path in options.get("anchor") or []:
            anchor = json.loads(path.read_text(encoding="utf-8"))
            problems.extend(f"{path.name}: {problem}" for problem in case_history_check_anchor(anchor))
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} problem(s) in the history of {checked} case(s).")
        self.stdout.write(self.style.SUCCESS(f"{checked} case(s): every event chain is intact."))
