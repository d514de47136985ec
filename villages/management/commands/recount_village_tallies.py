"""manage.py recount_village_tallies: count every area's active villages again.

The database keeps the tallies itself (triggers on the villages); run this after
restoring or copying in villages with the triggers disabled.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from villages.services import village_tallies_recount


class Command(BaseCommand):
    help = "Count every area's active villages again (after a restore with triggers disabled)."

    def handle(self, *args: Any, **options: Any) -> None:
        areas = village_tallies_recount()
        self.stdout.write(f"village tallies recounted: {areas} areas")
