"""``manage.py verify_draw ID``: re-run a stored draw and report identical or the first difference.

It checks the candidate list and roster against their committed hashes, the
revealed seed against its commitment, recomputes the villages and teams with
the same code the draw used, and checks the live teams against the drawn ones
and the reassignment log. ``--record FILE`` does the same for a public record
saved as JSON (``GET /api/v1/public/draws/ID/``), with no database at all.
Before publication only ``--use-secret-seed`` (an operator's check) can run it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inspections.sampling import draw as sampling_draw
from inspections.sampling.models import Draw
from inspections.sampling.verification import Verification, draw_verify, record_verify


class Command(BaseCommand):
    help = (
        "Recompute a draw from its frozen candidates and revealed seed: identical, or the first difference."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("draw_id", nargs="?", type=int, help="The draw's id.")
        parser.add_argument("--record", type=Path, help="Verify a saved public record (JSON) instead.")
        parser.add_argument(
            "--use-secret-seed",
            action="store_true",
            help="Before publication: use the stored secret seed (operators only; nothing is revealed).",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["record"]:
            record = json.loads(options["record"].read_text(encoding="utf-8"))
            report = record_verify(record)
            label = f"record {options['record']}"
            result_sha256 = record.get("result_sha256", "")
        elif options["draw_id"] is not None:
            draw = Draw.objects.filter(pk=options["draw_id"]).first()
            if draw is None:
                raise CommandError(f"no draw {options['draw_id']}")
            if draw.drawn_at is None and draw.voided_at is None:
                raise CommandError(f"draw {draw.pk} has not run yet")
            if draw.published_at is None and draw.voided_at is None and not options["use_secret_seed"]:
                raise CommandError(
                    f"draw {draw.pk} is not published: its seed is secret (operators: --use-secret-seed)"
                )
            report = draw_verify(draw=draw, use_secret_seed=options["use_secret_seed"])
            label = f"draw {draw.pk}"
            result_sha256 = draw.result_sha256
        else:
            raise CommandError("give a draw id or --record FILE")
        self._print(report, label, result_sha256, as_json=options["json"])
        if not report.identical:
            raise CommandError(f"{label}: DIFFERENT: {report.difference}")

    def _print(self, report: Verification, label: str, result_sha256: str, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(
                sampling_draw.canonical_json(
                    {
                        "identical": report.identical,
                        "first_difference": report.difference,
                        "result_sha256": result_sha256,
                        "checks": [{"name": n, "ok": ok} for n, ok, _d in report.checks],
                    }
                )
            )
            return
        for name, ok, detail in report.checks:
            self.stdout.write(f"  {'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {detail}"))
        if report.identical:
            self.stdout.write(self.style.SUCCESS(f"{label}: identical (result SHA-256 {result_sha256})"))
