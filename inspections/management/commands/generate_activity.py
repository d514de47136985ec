"""Generate a national-scale activity dataset (see :mod:`inspections.devdata.activity`).

manage.py import_divisions seeds/divisions-nbs-2023.csv.gz   # first: the whole country
manage.py generate_activity                                   # 2,000,000 inspections, 500,000 cases
manage.py generate_activity --inspections 20000 --cases 5000 --prefix 330523
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inspections.devdata.activity import NoVillagesError, activity_generate


class Command(BaseCommand):
    help = "Generate inspections, findings and cases at national scale on the imported divisions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--inspections", type=int, default=2_000_000)
        parser.add_argument("--cases", type=int, default=500_000)
        parser.add_argument("--prefix", default="", help="only villages under this division code")
        parser.add_argument("--days", type=int, default=365, help="history, ending now")
        parser.add_argument("--seed", type=int, default=20250106)
        parser.add_argument("--if-absent", action="store_true", help="do nothing if generated data exists")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = activity_generate(
                inspections=options["inspections"],
                cases=options["cases"],
                prefix=options["prefix"],
                days=options["days"],
                seed=options["seed"],
                progress=self.stdout.write,
                if_absent=options["if_absent"],
            )
        except NoVillagesError as exc:
            raise CommandError(str(exc)) from exc
        if result is None:
            self.stdout.write("generated activity already present: nothing done")
            return
        self.stdout.write(f"{result.inspections} inspections, {result.cases} cases in {result.seconds:.1f} s")
