"""Write the signed chain heads of every case to a file, to keep outside the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from inspections.cases.history import case_history_anchor_write


class Command(BaseCommand):
    help = (
        "Write case-heads-YYYY-MM-DD.json (every case's event count and content digest, signed with "
        "the ledger key) into FOLDER; keep it on write-once storage, and check the history against it "
        "with verify_case_history --anchor FILE."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        written = case_history_anchor_write(folder=options["folder"], now=timezone.now())
        if written is None:
            raise CommandError("Today's anchor exists in that folder: an anchor is never overwritten.")
        path, count = written
        self.stdout.write(f"{count} case(s) anchored in {path}.")
