"""Benchmark: one province's weekly digest against a hand-written SQL aggregate of the same figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qs_bench .venv/bin/python tests/benchmarks/bench_digest.py

On a database without the national division table or the generated activity,
it migrates, imports ``seeds/divisions-nbs-2023.csv.gz`` and runs
``generate_activity`` first (``--inspections`` / ``--cases`` to choose the size;
the defaults are the full 2,000,000 and 500,000). Then, for ``--province``
(default: the province with the most generated cases), it times the digest
builder (``inspections.digests.selectors.digest_build``, the figures only)
and the same figures computed by plain SQL on a raw cursor, each the median
of ``--runs`` runs after a warm-up, and prints the ratio (target ≤ 1.5) and
the builder's query count. Rendering the email is timed separately.

Not collected by pytest (the file name does not start with ``test_``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from inspections.devdata.activity import generated_counts  # noqa: E402
from inspections.digests.emails import digest_render  # noqa: E402
from inspections.digests.selectors import DUE_SOON_WORKING_DAYS, Period, digest_build  # noqa: E402
from inspections.models import DigestKind, User  # noqa: E402
from inspections.workdays.calendar import WorkingCalendar, add_working_days  # noqa: E402
from villages.models import Division, Village  # noqa: E402

HAND_SQL = {
    # Coverage: windows closed in each period (cancelled left out), submitted before its end.
    "visits": """
        SELECT
          COUNT(*) FILTER (WHERE i.window_end >= %(start)s AND i.window_end < %(cutoff)s),
          COUNT(*) FILTER (WHERE i.window_end >= %(start)s AND i.window_end < %(cutoff)s
                           AND i.status = 'submitted' AND i.submitted_at < %(cutoff)s),
          COUNT(*) FILTER (WHERE i.window_end >= %(prev_start)s AND i.window_end < %(start)s),
          COUNT(*) FILTER (WHERE i.window_end >= %(prev_start)s AND i.window_end < %(start)s
                           AND i.status = 'submitted' AND i.submitted_at < %(start)s)
        FROM inspections_inspection i JOIN villages_village v ON v.id = i.village_id
        WHERE v.code LIKE %(like)s AND i.window_end >= %(prev_start)s AND i.window_end < %(cutoff)s
          AND i.status <> 'cancelled'
    """,
    # New and closed cases by category (with its names and domain) and severity, both periods.
    "flows": """
        SELECT c.category_id, k.name_zh_hans, k.name_en, k.domain, c.severity,
          COUNT(*) FILTER (WHERE c.opened_at >= %(start)s AND c.opened_at < %(end)s),
          COUNT(*) FILTER (WHERE c.opened_at >= %(prev_start)s AND c.opened_at < %(start)s),
          COUNT(*) FILTER (WHERE c.closed_at >= %(start)s AND c.closed_at < %(end)s),
          COUNT(*) FILTER (WHERE c.closed_at >= %(prev_start)s AND c.closed_at < %(start)s)
        FROM inspections_case c
          JOIN villages_village v ON v.id = c.village_id
          JOIN inspections_problemcategory k ON k.id = c.category_id
        WHERE v.code LIKE %(like)s
          AND ((c.opened_at >= %(prev_start)s AND c.opened_at < %(end)s)
               OR (c.closed_at >= %(prev_start)s AND c.closed_at < %(end)s))
        GROUP BY 1, 2, 3, 4, 5
    """,
    # Open, overdue, due soon and escalated at both period ends.
    "state": """
        WITH s AS (
          SELECT c.*,
            (c.opened_at < %(end)s AND (c.closed_at IS NULL OR c.closed_at >= %(end)s)) AS open_end,
            (c.opened_at < %(start)s AND (c.closed_at IS NULL OR c.closed_at >= %(start)s)) AS open_start
          FROM inspections_case c JOIN villages_village v ON v.id = c.village_id
          WHERE v.code LIKE %(like)s AND c.opened_at < %(end)s
            AND (c.closed_at IS NULL OR c.closed_at >= %(prev_start)s)
        ), o AS (
          SELECT s.*,
            open_end AND (status IN ('open', 'rectifying', 'reopened')
                          OR (status = 'closed' AND closed_at >= %(end)s)) AS owing_end,
            open_start AND (status IN ('open', 'rectifying', 'reopened')
                            OR (status = 'closed' AND closed_at >= %(start)s)) AS owing_start
          FROM s
        )
        SELECT COUNT(*) FILTER (WHERE open_end), COUNT(*) FILTER (WHERE open_start),
          COUNT(*) FILTER (WHERE owing_end AND deadline < %(today)s),
          COUNT(*) FILTER (WHERE owing_start AND deadline < %(prev_today)s),
          COUNT(*) FILTER (WHERE owing_end AND deadline >= %(today)s AND deadline <= %(due_until)s),
          COUNT(*) FILTER (WHERE owing_start AND deadline >= %(prev_today)s
                           AND deadline <= %(prev_due_until)s),
          COUNT(*) FILTER (WHERE owing_end AND deadline < %(today)s AND escalation_level > 0)
        FROM o
    """,
    "overdue": """
        SELECT c.id, v.code, v.name, k.name_zh_hans, k.domain, c.severity, c.status, c.opened_at,
               c.deadline, c.escalation_level
        FROM inspections_case c JOIN villages_village v ON v.id = c.village_id
          JOIN inspections_problemcategory k ON k.id = c.category_id
        WHERE v.code LIKE %(like)s AND c.opened_at < %(end)s
          AND (c.closed_at IS NULL OR c.closed_at >= %(end)s)
          AND (c.status IN ('open', 'rectifying', 'reopened')
               OR (c.status = 'closed' AND c.closed_at >= %(end)s))
          AND c.deadline < %(today)s
        ORDER BY c.deadline, c.id LIMIT %(limit)s
    """,
    "due_soon": """
        SELECT c.id, v.code, v.name, k.name_zh_hans, k.domain, c.severity, c.status, c.opened_at,
               c.deadline, c.escalation_level
        FROM inspections_case c JOIN villages_village v ON v.id = c.village_id
          JOIN inspections_problemcategory k ON k.id = c.category_id
        WHERE v.code LIKE %(like)s AND c.opened_at < %(end)s
          AND (c.closed_at IS NULL OR c.closed_at >= %(end)s)
          AND (c.status IN ('open', 'rectifying', 'reopened')
               OR (c.status = 'closed' AND c.closed_at >= %(end)s))
          AND c.deadline >= %(today)s AND c.deadline <= %(due_until)s
        ORDER BY c.deadline, c.id LIMIT 15
    """,
    "villages": """
        SELECT v.code, v.name,
          COUNT(*) FILTER (WHERE c.opened_at < %(end)s
                           AND (c.closed_at IS NULL OR c.closed_at >= %(end)s)) AS n,
          COUNT(*) FILTER (WHERE c.opened_at < %(start)s
                           AND (c.closed_at IS NULL OR c.closed_at >= %(start)s))
        FROM inspections_case c JOIN villages_village v ON v.id = c.village_id
        WHERE v.code LIKE %(like)s
          AND ((c.opened_at < %(start)s AND (c.closed_at IS NULL OR c.closed_at >= %(start)s))
               OR (c.opened_at < %(end)s AND (c.closed_at IS NULL OR c.closed_at >= %(end)s)))
        GROUP BY v.code, v.name
        HAVING COUNT(*) FILTER (WHERE c.opened_at < %(end)s
                                AND (c.closed_at IS NULL OR c.closed_at >= %(end)s)) > 0
        ORDER BY n DESC, v.code LIMIT 10
    """,
    # Evidence flags awaiting review at each period end (photos of submitted inspections, or of cases).
    "flags": """
        SELECT
          COUNT(*) FILTER (WHERE (p.flags_reviewed_at IS NULL OR p.flags_reviewed_at >= %(end)s)
                           AND (p.case_id IS NOT NULL OR i.submitted_at < %(end)s)),
          COUNT(*) FILTER (WHERE p.processed_at < %(start)s
                           AND (p.flags_reviewed_at IS NULL OR p.flags_reviewed_at >= %(start)s)
                           AND (p.case_id IS NOT NULL OR i.submitted_at < %(start)s))
        FROM inspections_photo p
        LEFT JOIN inspections_inspection i ON i.id = p.inspection_id
        LEFT JOIN villages_village vi ON vi.id = i.village_id
        LEFT JOIN inspections_case c ON c.id = p.case_id
        LEFT JOIN villages_village vc ON vc.id = c.village_id
        WHERE p.status = 'ready' AND p.processed_at < %(end)s AND p.flags::text <> '[]'
          AND ((i.status = 'submitted' AND vi.code LIKE %(like)s)
               OR (c.id IS NOT NULL AND vc.code LIKE %(like)s))
    """,
}


def hand_sql(prefix: str, period: Period, now: dt.datetime, limit: int) -> dict[str, list[tuple[Any, ...]]]:
    calendar = WorkingCalendar()  # the library's calendar, no query
    params: dict[str, Any] = {
        "like": f"{prefix}%",
        "start": period.start_at(),
        "end": period.end_at(),
        "cutoff": min(period.end_at(), now),
        "prev_start": period.previous.start_at(),
        "today": period.end,
        "prev_today": period.previous.end,
        "due_until": add_working_days(period.end, DUE_SOON_WORKING_DAYS, calendar=calendar).date,
        "prev_due_until": add_working_days(
            period.previous.end, DUE_SOON_WORKING_DAYS, calendar=calendar
        ).date,
        "limit": limit,
    }
    results = {}
    with connection.cursor() as cursor:
        for name, sql in HAND_SQL.items():
            cursor.execute(sql, params)
            results[name] = cursor.fetchall()
    return results


def timed(function: Callable[[], Any], runs: int) -> tuple[float, Any]:
    function()  # warm-up: caches, plans
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def ensure_data(inspections: int, cases: int) -> None:
    call_command("migrate", verbosity=0)
    if Village.objects.count() < 600_000:
        print("importing the national division table ...", flush=True)
        call_command("import_divisions", str(ROOT / "seeds" / "divisions-nbs-2023.csv.gz"), verbosity=0)
    if generated_counts()[0] == 0:
        print(f"generating {inspections:,} inspections and {cases:,} cases ...", flush=True)
        started = time.perf_counter()
        call_command("generate_activity", "--inspections", str(inspections), "--cases", str(cases))
        print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inspections", type=int, default=2_000_000)
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--province", help="two-digit code (default: the one with the most cases)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("warning: the benchmark is meant for PostgreSQL (set DATABASE_URL)", file=sys.stderr)
    ensure_data(args.inspections, args.cases)

    from django.conf import settings

    from inspections.models import Case, Inspection

    province = args.province
    if province is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT substr(v.code, 1, 2) AS p, COUNT(*) FROM inspections_case c "
                "JOIN villages_village v ON v.id = c.village_id GROUP BY p ORDER BY 2 DESC LIMIT 1"
            )
            province = cursor.fetchone()[0]
    division = Division.objects.get(code=province)
    now = timezone.now()
    period = Period.last_complete(DigestKind.WEEKLY, now)
    limit = settings.QINGSHAN_DIGEST_CSV_MAX_ROWS

    with CaptureQueriesContext(connection) as queries:
        digest_build(prefix=province, period=period, now=now)
    orm_seconds, digest = timed(lambda: digest_build(prefix=province, period=period, now=now), args.runs)
    sql_seconds, raw = timed(lambda: hand_sql(province, period, now, limit), args.runs)

    assert (digest.planned.current, digest.done.current) == raw["visits"][0][:2], "figures differ"
    assert digest.overdue.current == raw["state"][0][2], "figures differ"
    assert len(digest.overdue_rows) == len(raw["overdue"]), "figures differ"
    assert (digest.evidence_flags.current, digest.evidence_flags.previous) == raw["flags"][0], (
        "figures differ"
    )

    reader = User(username="bench", language="zh-hans", email="bench@example.cn", pk=0)
    render_seconds, _ = timed(
        lambda: digest_render(recipient=reader, digest=digest, division_name=division.name), args.runs
    )

    totals = f"{Inspection.objects.count():,} inspections, {Case.objects.count():,} cases"
    print(f"database: {connection.vendor}, {totals}")
    villages = Village.objects.filter(code__startswith=province).count()
    print(
        f"province: {division.name} ({province}), {villages:,} villages; weekly digest for {period.label()}"
    )
    print(
        f"figures: planned {digest.planned.current}, done {digest.done.current}, "
        f"new {digest.new_cases.current}, closed {digest.closed_cases.current}, "
        f"open {digest.open_cases.current}, overdue {digest.overdue.current}, "
        f"due soon {digest.due_soon.current}"
    )
    print(f"digest builder: {orm_seconds * 1000:.1f} ms in {len(queries)} queries")
    print(f"hand-written SQL: {sql_seconds * 1000:.1f} ms in {len(HAND_SQL)} statements")
    print(f"ratio builder / SQL: {orm_seconds / sql_seconds:.2f} (target <= 1.5)")
    rows = len(digest.overdue_rows)
    print(f"rendering the email (HTML, text, CSV of {rows} rows): {render_seconds * 1000:.1f} ms")


if __name__ == "__main__":
    main()
