"""Write the signed chain heads of every case to a file, to keep outside the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from inspections.cases.history import case_history_anchor
from inspections.common.china_time import local_date


class Command(BaseCommand):
    help = (
        "Write case-heads-YYYY-MM-DD.json (every case's event count and content digest, signed with "
        "the ledger key) into FOLDER; keep it on write-once storage, and check the history against it "
        "with verify_case_history --anchor FILE."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        folder: Path = options["folder"]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"case-heads-{local_date(now).isoformat()}.json"
        if path.exists():
            raise CommandError(f"{path} exists: an anchor is never overwritten.")
        anchor = case_history_anchor(now=now)
        with path.open("x", encoding="utf-8") as file:
            json.dump(anchor, file, ensure_ascii=False, sort_keys=True, indent=1)
        self.stdout.write(f"{len(anchor['heads'])} case(s) anchored in {path}.")
