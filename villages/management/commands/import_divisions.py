from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from villages.services import DivisionFileError, divisions_import


class Command(BaseCommand):
    help = (
        "Import the NBS statistical division table (CSV or gzip, `code,name`): the whole "
        "country, or with --prefix one subtree. Idempotent and atomic."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--prefix", default="", help="Import only this code's subtree (and its ancestors)."
        )

    def handle(self, *args: Any, file: Path, prefix: str, **options: Any) -> None:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        show = self.stdout.isatty() and options["verbosity"] > 0

        def progress(items: Iterable[object], label: str, total: int) -> Iterable[object]:
            return tqdm(items, desc=label, total=total, unit="row", disable=not show, leave=False)

        started = time.monotonic()
        try:
            report = divisions_import(path=file, prefix=prefix, progress=progress)
        except DivisionFileError as error:
            raise CommandError(str(error)) from error
        except (UnicodeDecodeError, OSError, EOFError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        self.stdout.write(f"{report.summary()} ({time.monotonic() - started:.1f} s)")
