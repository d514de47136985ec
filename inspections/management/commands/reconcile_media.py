"""Find and remove stored files that no row refers to (orphan originals, renditions, temporary files).

    manage.py reconcile_media               # remove those older than QINGSHAN_MEDIA_ORPHAN_GRACE_HOURS
    manage.py reconcile_media --dry-run     # list them, remove nothing
    manage.py reconcile_media --grace-hours 1

The same as the daily ``inspections.media_reconcile`` task.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from inspections.evidence.reconcile import media_reconcile


class Command(BaseCommand):
    help = "Remove stored media files that no photo or upload refers to, past the grace period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list what would go; remove nothing")
        parser.add_argument("--grace-hours", type=float, help="override QINGSHAN_MEDIA_ORPHAN_GRACE_HOURS")

    def handle(self, *args: Any, **options: Any) -> None:
        grace = timedelta(hours=options["grace_hours"]) if options["grace_hours"] is not None else None
        result = media_reconcile(grace=grace, dry_run=options["dry_run"])
        verb = "would remove" if result.dry_run else "removed"
        for place, names in sorted(result.removed.items()):
            for name in names:
                self.stdout.write(f"{verb} {place}: {name}")
        for error in result.errors:
            self.stderr.write(f"error: {error}")
        self.stdout.write(
            f"{result.examined} files examined, {verb} {result.removed_count}"
            + (f" ({', '.join(f'{p}: {n}' for p, n in result.summary().items())})" if result.removed else "")
            + (f", {len(result.errors)} errors" if result.errors else "")
        )
