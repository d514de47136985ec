"""Benchmark: a county-stratified draw over all 620,573 village-level units.

    .venv/bin/python tests/benchmarks/bench_draw.py            # SQLite scratch DB in var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qs_bench .venv/bin/python tests/benchmarks/bench_draw.py

Imports the national table into the scratch database if it is not there yet,
builds a roster (one inspector per two counties of each province, at least
six, capacity 12). One village in twenty gets a submitted inspection 1–730 days old (so the
weights differ and previous teams are recused). Then it measures, on the
same database in the same run:

* **read**: reading the candidate rows once (``id, code, class`` of every
  active village-level unit: what a commit must read at the least);
* **draw**: ``sampling_plan_draw`` on the committed national plan: parse the
  frozen candidate list, keyed-hash stream and Efraimidis–Spirakis per county,
  teams with recusal and capacity, 3,000 inspections, assignments and the
  result written (rolled back after each run so that it can be repeated);
* **commit**: ``sampling_plan_commit`` (candidates and weights, canonical list,
  SHA-256, roster, seed), for information.

Read and draw are timed alternately, five times each; each figure is the
best. It prints the draw/read ratio (target ≤ 1.5) and the query counts of
the commit and the draw for the whole country and for one province with the
same sample size: they must be equal.
Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
os.environ.setdefault("QINGSHAN_VAR_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench' / 'draw.sqlite3'}")
(ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from inspections.models import Draw, Inspection, Inspector, SamplingPlan, User  # noqa: E402
from inspections.sampling.services import sampling_plan_commit, sampling_plan_draw  # noqa: E402
from villages.models import Division, Village  # noqa: E402
from villages.services import divisions_import  # noqa: E402

NATIONAL_UNITS = 620_573
SAMPLE = 3_000
RUNS = 5


class Rollback(Exception):
    pass


def best_of(runs: int, action: Callable[[], Any], *, rollback: bool = False) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        try:
            with transaction.atomic():
                action()
                elapsed = time.perf_counter() - start
                if rollback:
                    raise Rollback
        except Rollback:
            pass
        best = min(best, elapsed)
    return best


def count_queries(action: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        try:
            with transaction.atomic():
                action()
                raise Rollback
        except Rollback:
            pass
    return len(captured)


def ensure_data() -> None:
    call_command("migrate", verbosity=0)
    if Village.objects.filter(is_active=True).count() < NATIONAL_UNITS:
        print("importing the national table (about 10 s)…", flush=True)
        divisions_import(path=ROOT / "seeds" / "divisions-nbs-2023.csv.gz")
    if not Inspector.objects.filter(credential_number__startswith="BENCH-").exists():
        counties = list(Division.objects.filter(level=3).order_by("code").values_list("id", "code"))
        by_province: dict[str, list[int]] = {}
        for pk, code in counties:
            by_province.setdefault(code[:2], []).append(pk)
        users, homes = [], []
        for province, ids in sorted(by_province.items()):
            for n in range(max(6, len(ids) // 2)):
                users.append(User(username=f"bench-{province}-{n}", password="!"))
                homes.append(ids[(n * 2) % len(ids)])
        User.objects.bulk_create(users, batch_size=500)
        created = User.objects.filter(username__startswith="bench-").order_by("username")
        by_name = {u.username: u.pk for u in created}
        Inspector.objects.bulk_create(
            [
                Inspector(
                    user_id=by_name[u.username],
                    credential_number=f"BENCH-{u.username[6:]}",
                    unit="bench",
                    home_division_id=home,
                    capacity=12,
                )
                for u, home in zip(users, homes, strict=True)
            ],
            batch_size=500,
        )


def ensure_history() -> None:
    """Every 20th village was inspected 1–730 days ago by two bench inspectors: varied weights, recusals."""
    if Inspection.objects.filter(summary="bench history").exists():
        return
    print("adding inspection history (one village in 20)…", flush=True)
    bench = Inspector.objects.filter(credential_number__startswith="BENCH-")
    inspectors = list(bench.values_list("id", flat=True))
    now = timezone.now()
    rows = []
    for village_id, code in (
        Village.objects.filter(is_active=True).order_by("code").values_list("id", "code")[::20]
    ):
        days = 1 + int(code[-6:]) % 730
        rows.append(
            Inspection(
                mode=Inspection.Mode.ROUTINE,
                village_id=village_id,
                window_start=now - timedelta(days=days + 1),
                window_end=now - timedelta(days=days),
                status=Inspection.Status.SUBMITTED,
                submitted_at=now - timedelta(days=days),
                summary="bench history",
            )
        )
    created = Inspection.objects.bulk_create(rows, batch_size=2000)
    Inspection.team.through.objects.bulk_create(
        [
            Inspection.team.through(
                inspection_id=inspection.pk, inspector_id=inspectors[(n * 7 + j) % len(inspectors)]
            )
            for n, inspection in enumerate(created)
            for j in range(2)
        ],
        batch_size=5000,
    )


def make_plan(owner: User, scope: Division | None, *, sample: int = SAMPLE, minimum: int = 1) -> SamplingPlan:
    start = timezone.now() + timedelta(days=30)
    plan = SamplingPlan.objects.create(
        name=f"bench {scope.code if scope else 'national'} {time.time()}",
        scope=scope,
        window_start=start,
        window_end=start + timedelta(days=7),
        sample_size=sample,
        min_per_stratum=minimum,
        team_size=2,
        created_by=owner,
    )
    plan.organisers.add(owner)
    return plan


def main() -> None:
    ensure_data()
    ensure_history()
    owner, _ = User.objects.get_or_create(username="bench-owner", defaults={"is_superuser": True})
    vendor = connection.vendor
    print(f"database: {vendor} ({connection.settings_dict['NAME']})")

    national = make_plan(owner, None)
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as commit_queries:
        draw: Draw = sampling_plan_commit(plan=national, user=owner)
    commit = time.perf_counter() - start
    # Interleaved, so that both see the same load on a shared machine; best of each.
    read = draw_time = float("inf")
    for _ in range(RUNS):
        read = min(
            read,
            best_of(
                1, lambda: len(list(Village.objects.filter(is_active=True).values_list("id", "code", "kind")))
            ),
        )
        draw_time = min(
            draw_time, best_of(1, lambda: sampling_plan_draw(plan=national, user=owner), rollback=True)
        )
    draw_queries = count_queries(lambda: sampling_plan_draw(plan=national, user=owner))

    # The same sample from 31× fewer candidates must cost the same number of queries.
    small_national = make_plan(owner, None, sample=300, minimum=0)
    province = make_plan(owner, Division.objects.get(code="51"), sample=300, minimum=0)  # Sichuan
    queries: dict[str, tuple[int, int]] = {}
    for label, plan in (("national", small_national), ("Sichuan", province)):
        with CaptureQueriesContext(connection) as captured:
            committed = sampling_plan_commit(plan=plan, user=owner)
        commit_count = len(captured)

        def run(plan: SamplingPlan = plan) -> None:
            sampling_plan_draw(plan=plan, user=owner)

        queries[label] = (commit_count, count_queries(run))
        if label == "Sichuan":
            province_draw = committed

    ratio = draw_time / read
    print(f"candidates                 {draw.candidate_count:>12,}")
    print(f"sample                     {SAMPLE:>12,}   stratified by county, at least 1 each, teams of 2")
    print(f"read candidate rows once   {read:>11.3f} s")
    print(f"draw (from frozen list)    {draw_time:>11.3f} s   ratio {ratio:.2f}× (target ≤ 1.5×)")
    print(f"commit (freeze and hash)   {commit:>11.3f} s   ratio {commit / read:.2f}× (for information)")
    print(f"queries, sample {SAMPLE:,}: commit {len(commit_queries)}, draw {draw_queries}")
    print(
        f"queries, sample 300: commit {queries['national'][0]} / draw {queries['national'][1]} from "
        f"{draw.candidate_count:,} candidates; commit {queries['Sichuan'][0]} / draw {queries['Sichuan'][1]} "
        f"from {province_draw.candidate_count:,}"
    )
    ok = ratio <= 1.5 and queries["national"] == queries["Sichuan"]
    print("OK" if ok else "TARGET MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
