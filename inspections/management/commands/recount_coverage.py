"""Count the stored coverage tallies again from the submitted inspections.

    manage.py recount_coverage                 # every year with a visit
    manage.py recount_coverage --year 2026     # one year (repeat --year for more)

The daily ``inspections.coverage_recount`` task does this year's and last year's.
Submissions wait while it runs (a minute for the national dataset's two million visits).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from inspections.fieldwork.coverage import coverage_recount


class Command(BaseCommand):
    help = "Count the stored coverage tallies again from the submitted inspections."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, action="append", help="only this year (China); repeatable")

    def handle(self, *args: Any, **options: Any) -> None:
        result = coverage_recount(years=options["year"])
        years = ", ".join(str(year) for year in result.years) or "none"
        self.stdout.write(f"years {years}: {result.tallies} tallies, {result.visited} village visits by mode")
