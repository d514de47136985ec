from typing import Any

from django.core.management.base import BaseCommand

from inspections.devdata.demo import demo_load


class Command(BaseCommand):
    help = "Load the demo region (Huzhou, Anji in focus), the checklist and the demo accounts. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        for line in demo_load():
            self.stdout.write(line)
