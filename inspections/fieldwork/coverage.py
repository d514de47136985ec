"""The stored coverage tallies (:class:`~inspections.fieldwork.models.CoverageTally`), recounted.

Submissions keep the tallies as they happen; a recount makes them again from
the submitted inspections, for what the running count cannot see: a village
made inactive after its visit, inspections written in bulk (the national
dataset generator), or a database restored from elsewhere. It runs daily for
this year and the last (``inspections.coverage_recount``), and by hand with
``manage.py recount_coverage``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import ExtractYear

from inspections.common.china_time import SHANGHAI
from inspections.fieldwork.models import (
    ANY_MODE,
    CoverageTally,
    Inspection,
    VisitedVillage,
)
from villages.models import VILLAGE_AREA_LENGTHS

BATCH = 5000


@dataclass(frozen=True)
class Recount:
    years: list[int]
    tallies: int
    visited: int


def coverage_recount(*, years: Iterable[int] | None = None) -> Recount:
    """Make the tallies of ``years`` (by default every year with a visit) again from the inspections."""
    submitted = Inspection.objects.filter(
        status=Inspection.Status.SUBMITTED, submitted_at__isnull=False
    ).annotate(year=ExtractYear("submitted_at", tzinfo=SHANGHAI))
    wanted = sorted(set(years)) if years is not None else None
    if wanted is not None:
        submitted = submitted.filter(year__in=wanted)
    rows = (
        submitted.values("village_id", "village__code", "village__is_active", "mode", "year")
        .annotate(n=Count("id"))
        .values_list("village_id", "village__code", "village__is_active", "mode", "year", "n")
        .order_by()
    )
    with transaction.atomic():
        # Submissions wait until the recount commits (SQLite lets one writer at a time anyway):
        # one counted between the read below and the write would otherwise be lost.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                tables = f"{VisitedVillage._meta.db_table}, {CoverageTally._meta.db_table}"
                cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
        tallies: dict[tuple[int, str, str], list[int]] = {}
        visited: set[tuple[int, int, str]] = set()
        for village_id, code, active, mode, year, count in rows.iterator(chunk_size=BATCH):
            for each in (ANY_MODE, mode):
                first = active and (village_id, year, each) not in visited
                if first:
                    visited.add((village_id, year, each))
                for length in VILLAGE_AREA_LENGTHS:
                    tally = tallies.setdefault((year, code[:length], each), [0, 0])
                    tally[0] += int(first)
                    tally[1] += count
        old_tallies = CoverageTally.objects.all()
        old_visited = VisitedVillage.objects.all()
        if wanted is not None:
            old_tallies = old_tallies.filter(year__in=wanted)
            old_visited = old_visited.filter(year__in=wanted)
        old_tallies.delete()
        old_visited.delete()
        CoverageTally.objects.bulk_create(
            (
                CoverageTally(
                    year=year, area=area, area_length=len(area), mode=mode, villages=villages, inspections=n
                )
                for (year, area, mode), (villages, n) in tallies.items()
            ),
            batch_size=BATCH,
        )
        VisitedVillage.objects.bulk_create(
            (VisitedVillage(village_id=v, year=year, mode=mode) for v, year, mode in visited),
            batch_size=BATCH,
        )
    years_seen = sorted({year for year, _, _ in tallies} | set(wanted or ()))
    return Recount(years=years_seen, tallies=len(tallies), visited=len(visited))
