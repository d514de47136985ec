"""Benchmark: every admin page a national, provincial, prefecture and county supervisor opens, ≤ 1 s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qs_bench .venv/bin/python tests/benchmarks/bench_admin.py

On a database without the national division table or the generated activity,
it migrates, imports ``seeds/divisions-nbs-2023.csv.gz`` and runs
``generate_activity --if-absent`` first (``--inspections`` / ``--cases`` to
choose the size for a quick run; the defaults are the full 2,000,000 and
500,000, three to five minutes on two cores, once).

Four readers: a superuser (the national view) and three supervisors, of the
province with the most generated problems, of its prefecture with the most and
of that prefecture's county with the most; each organises a draft sampling plan
over its jurisdiction (created once). Each logs in with Django's test client and
opens, in its language:

* the first page (the workbench) and every app's page;
* every list it may open (``admin.site._registry``): as it opens, then each
  filter's first and last choice as the page offers them (the date drill-down
  and the last page of the list included), and a search;
* every figure link of the workbench (each kind of link once for the whole
  jurisdiction and once for its first area);
* the first row's page of every list, the add forms it may open (the
  publication form, the plan form among them), the plan's own pages (commit,
  beacon, coverage), the digest preview, and the autocomplete lookups of the
  forms' pickers (empty and with a village's name).

Files (PDFs, the ledger export, photos) are left out. Server time is the time of
``client.get`` in this process (``time.perf_counter``: middleware, view,
template), the median of ``--runs`` runs after a warm-up, with the queries the
timed run asked (``CaptureQueriesContext``). Prints the pages slowest first and
the slowest per reader; exits 1 when the slowest takes more than ``--limit``
milliseconds (1000), unless ``--no-fail``.

Not collected by pytest (the file name does not start with ``test_``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.common import ROOT, setup_django

os.environ.setdefault("QINGSHAN_LEDGER_KEY", "benchmark-only-ledger-key")
setup_django()

from django.contrib import admin  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import OperationalError, connection  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.db.models.functions import Substr  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import URLPattern, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from inspections.accounts.models import Role, User  # noqa: E402
from inspections.accounts.roles import sync_role_groups  # noqa: E402
from inspections.cases.models import Case  # noqa: E402
from inspections.devdata.activity import generated_counts  # noqa: E402
from inspections.fieldwork.models import Inspection  # noqa: E402
from inspections.sampling.models import SamplingPlan  # noqa: E402
from villages.models import Division, Village  # noqa: E402

LIMIT_MS = 1000
HREF = re.compile(r'href="([^"]*)"')
SORT_LINK = re.compile(r"(^|[?&])o=")
# Custom admin views that answer a file, or that the walk cannot fill in: not pages.
NOT_PAGES = re.compile(r"pdf|file|export|handover_sheet|reassign|cancel_visit|_delete$|_history$")
PLAN_NAME = "bench-admin plan"


@dataclass(frozen=True)
class Reader:
    role: str  # national, province, prefecture, county
    user: User
    prefix: str


@dataclass(frozen=True)
class Result:
    role: str
    page: str
    url: str
    note: str  # "timeout": cancelled at the statement timeout
    ms: float
    queries: int


# --- Data ------------------------------------------------------------------------------------


def ensure_data(inspections: int, cases: int) -> None:
    from django.conf import settings

    call_command("migrate", verbosity=0)
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        print("collecting the static files (the pages name them by their manifest) ...", flush=True)
        call_command("collectstatic", interactive=False, verbosity=0)
    if Village.objects.count() < 600_000:
        print("importing the national division table ...", flush=True)
        call_command("import_divisions", str(ROOT / "seeds" / "divisions-nbs-2023.csv.gz"), verbosity=0)
    if generated_counts()[0] == 0:
        print(f"generating {inspections:,} inspections and {cases:,} cases ...", flush=True)
        started = time.perf_counter()
        call_command(
            "generate_activity", "--inspections", str(inspections), "--cases", str(cases), "--if-absent"
        )
        print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
    if connection.vendor == "postgresql":
        # The import and the generator write millions of rows at once. A live database's
        # autovacuum would have vacuumed and analysed them; it may not have run yet. Without
        # fresh statistics the planner takes the villages for a tenth of them, and without a
        # visibility map no index answers alone (every count reads the table). Quick once done.
        tables = [
            "villages_village",
            "villages_division",
            "inspections_inspection",
            "inspections_finding",
            "inspections_case",
            "inspections_coveragetally",
            "inspections_visitedvillage",
        ]
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")


def busiest_divisions() -> tuple[str, str, str]:
    """The province with the most problems, its prefecture with the most, and that one's county."""
    rows = (
        Case.objects.annotate(county=Substr("village__code", 1, 6))
        .values("county")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_county = {row["county"]: row["n"] for row in rows}
    if not by_county:
        raise SystemExit("no problems in the database: generate the activity first")

    def top(length: int, within: str) -> str:
        totals: dict[str, int] = defaultdict(int)
        for code, n in by_county.items():
            if code.startswith(within):
                totals[code[:length]] += n
        return max(sorted(totals), key=lambda code: totals[code])

    province = top(2, "")
    prefecture = top(4, province)
    return province, prefecture, top(6, prefecture)


def ensure_readers() -> list[Reader]:
    sync_role_groups()
    province, prefecture, county = busiest_divisions()
    national, _ = User.objects.update_or_create(
        username="bench-admin-national",
        defaults={"is_staff": True, "is_superuser": True, "is_active": True, "last_name": "全国"},
    )
    readers = [Reader("national", national, "")]
    supervisors = Role.SUPERVISOR
    for role, code in (("province", province), ("prefecture", prefecture), ("county", county)):
        division = Division.objects.get(code=code)
        user, _ = User.objects.update_or_create(
            username=f"bench-admin-{role}",
            defaults={
                "is_staff": True,
                "is_superuser": False,
                "is_active": True,
                "jurisdiction": division,
                "last_name": division.name,
            },
        )
        user.groups.set([user.groups.model.objects.get(name=supervisors)])
        readers.append(Reader(role, user, code))
    for reader in readers:
        reader.user.set_unusable_password()
        reader.user.save(update_fields=["password"])
        ensure_plan(reader)
    return readers


def ensure_plan(reader: Reader) -> SamplingPlan:
    """A draft plan over the reader's jurisdiction (the country for the superuser), organised by them."""
    plan = SamplingPlan.objects.filter(name=PLAN_NAME, created_by=reader.user).first()
    if plan is not None:
        return plan
    start = timezone.now() + dt.timedelta(days=30)
    plan = SamplingPlan.objects.create(
        name=PLAN_NAME,
        scope=Division.objects.get(code=reader.prefix) if reader.prefix else None,
        window_start=start,
        window_end=start + dt.timedelta(days=5),
        sample_size=30,
        created_by=reader.user,
    )
    plan.organisers.add(reader.user)
    return plan


# --- The walk --------------------------------------------------------------------------------


class Walker:
    def __init__(self, reader: Reader, *, runs: int, only: str | None, verbose: bool) -> None:
        self.reader = reader
        self.verbose = verbose
        self.runs = runs
        self.only = only
        self.client = Client(SERVER_NAME="localhost", HTTP_ACCEPT_LANGUAGE=reader.user.language)
        self.client.force_login(reader.user)
        self.results: list[Result] = []
        self.seen: set[str] = set()
        village = Village.objects.filter(code__startswith=reader.prefix).order_by("code").first()
        self.term = village.name if village is not None else "村"

    def get(self, page: str, url: str) -> Any:
        """Open ``url`` (once to warm up, then ``runs`` times); the last response.

        A page whose query outlasts the statement timeout is reported at that time, marked.
        """
        if url in self.seen or (self.only and self.only not in f"{page} {url}"):
            return None
        self.seen.add(url)
        started = time.perf_counter()
        try:
            response = self.client.get(url)
            if response.status_code != 200 or not _is_page(response):
                return None  # not this reader's (403, a redirect) or a file
            times, queries = [], 0
            for _ in range(self.runs):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = self.client.get(url)
                    times.append(time.perf_counter() - started)
                queries = len(captured)
        except OperationalError:
            self.record(page, url, "timeout", time.perf_counter() - started, 0)
            return None
        self.record(page, url, "", statistics.median(times), queries)
        return response

    def record(self, page: str, url: str, note: str, seconds: float, queries: int) -> None:
        result = Result(self.reader.role, page, url, note, seconds * 1000, queries)
        self.results.append(result)
        if self.verbose:
            print(f"  {result.ms:8.1f} ms {result.queries:4d} q  {page}  {url} {note}", flush=True)

    def walk(self) -> list[Result]:
        index = self.get("index (workbench)", reverse("admin:index"))
        for label in sorted({model._meta.app_label for model in admin.site._registry}):
            self.get(f"app {label}", reverse("admin:app_list", kwargs={"app_label": label}))
        for model, model_admin in admin.site._registry.items():
            self.walk_model(model, model_admin)
        if index is not None:
            self.walk_workbench_links(index.content.decode())
        return self.results

    def walk_model(self, model: Any, model_admin: Any) -> None:
        opts = model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        changelist_url = reverse(f"admin:{name}_changelist")
        response = self.get(f"{opts.model_name} list", changelist_url)
        if response is None:
            return  # not this reader's (403) or not a page
        html = response.content.decode()
        for query in _filter_choices(html):
            self.get(f"{opts.model_name} list {_shape(query)}", f"{changelist_url}{query}")
        if model_admin.get_search_fields(None):
            self.get(f"{opts.model_name} list search", f"{changelist_url}?q={self.term}")
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        first = next(iter(changelist.result_list), None) if changelist is not None else None
        if first is not None:
            self.get(f"{opts.model_name} change", reverse(f"admin:{name}_change", args=[first.pk]))
        if f'href="{reverse(f"admin:{name}_add")}' in html:
            self.get(f"{opts.model_name} add", reverse(f"admin:{name}_add"))
        for entry in model_admin.get_urls():
            if not isinstance(entry, URLPattern) or not entry.name or NOT_PAGES.search(entry.name):
                continue
            if entry.name in {f"{name}_changelist", f"{name}_add", f"{name}_change"}:
                continue
            params = tuple(entry.pattern.converters) if hasattr(entry.pattern, "converters") else ()
            if not params:
                self.get(entry.name, reverse(f"admin:{entry.name}"))
            elif params == ("object_id",) and first is not None:
                self.get(entry.name, reverse(f"admin:{entry.name}", args=[first.pk]))
        for field_name in model_admin.get_autocomplete_fields(None):
            field = opts.get_field(field_name)
            for term in ("", self.term):
                query = (
                    f"app_label={opts.app_label}&model_name={opts.model_name}"
                    f"&field_name={field.name}&term={term}"
                )
                label = f"autocomplete {opts.model_name}.{field.name}{' search' if term else ''}"
                self.get(label, f"{reverse('admin:autocomplete')}?{query}")

    def walk_workbench_links(self, html: str) -> None:
        """Each kind of figure link (its list and parameters): the jurisdiction's and its first area's."""
        by_shape: dict[str, list[str]] = defaultdict(list)
        for href in HREF.findall(html):
            url = href.replace("&amp;", "&")
            if url.startswith("/admin/") and "?" in url:
                path, query = url.split("?", 1)
                by_shape[f"{path} {_shape('?' + query)}"].append(url)
        for shape, urls in by_shape.items():
            mine = [u for u in urls if _division(u) == self.reader.prefix]
            others = [u for u in urls if u not in mine]
            for url in (mine[:1] or urls[-1:]) + others[:1]:
                self.get(f"workbench link {shape.split('/admin/', 1)[1]}", url)


def _division(url: str) -> str:
    return dict(parse_qsl(urlsplit(url).query)).get("division", "")


def _is_page(response: Any) -> bool:
    kind = response.get("Content-Type", "")
    return not response.streaming and (kind.startswith("text/html") or "json" in kind)


def _shape(query: str) -> str:
    """A query string's parameter names (what kind of filter it is), not its values."""
    keys = sorted({key for key, _value in parse_qsl(query.lstrip("?"), keep_blank_values=True)})
    return "?" + "&".join(keys) if keys else ""


def _filter_choices(html: str) -> list[str]:
    """The filter, date and page links of a list: for each kind, the first and the last offered."""
    by_shape: dict[str, list[str]] = defaultdict(list)
    for href in HREF.findall(html):
        link = href.replace("&amp;", "&")
        if link.startswith("?") and link != "?" and not SORT_LINK.search(link):
            by_shape[_shape(link)].append(link)
    chosen: list[str] = []
    for links in by_shape.values():
        unique = list(dict.fromkeys(links))
        chosen += unique[:1] + unique[-1:] if len(unique) > 1 else unique
    return chosen


# --- Report ----------------------------------------------------------------------------------


def report(results: list[Result], top: int, limit: float) -> float:
    ordered = sorted(results, key=lambda r: r.ms, reverse=True)
    width = min(max((len(r.page) for r in ordered), default=10), 70)
    print(f"\n{'page':<{width}}  {'reader':<10}  {'ms':>8}  {'queries':>7}")
    for r in ordered[: top or None]:
        mark = f"  <-- {r.note or 'over the limit'}" if r.ms > limit or r.note else ""
        print(f"{r.page[:width]:<{width}}  {r.role:<10}  {r.ms:8.1f}  {r.queries:7d}{mark}")
    if top and len(ordered) > top:
        print(f"... and {len(ordered) - top} faster pages")
    print("\nslowest per reader:")
    for role in ("national", "province", "prefecture", "county"):
        mine = [r for r in ordered if r.role == role]
        if mine:
            r = mine[0]
            median = statistics.median(x.ms for x in mine)
            over = sum(1 for x in mine if x.ms > limit)
            print(
                f"  {role:<10} {r.ms:8.1f} ms  {r.page} ({r.queries} queries)   "
                f"[{len(mine)} pages, median {median:.1f} ms, {over} over the limit]\n"
                f"             {r.url}"
            )
    slowest = ordered[0].ms if ordered else 0.0
    over = sum(1 for r in ordered if r.ms > limit)
    print(f"\nslowest: {slowest:.1f} ms; pages over {limit:.0f} ms: {over} of {len(ordered)}")
    return slowest


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inspections", type=int, default=2_000_000)
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per page, after a warm-up")
    parser.add_argument("--roles", default="national,province,prefecture,county")
    parser.add_argument("--only", help="only the pages whose name or URL contains this")
    parser.add_argument("--top", type=int, default=40, help="pages to list (0: all)")
    parser.add_argument("--limit", type=float, default=LIMIT_MS, help="milliseconds")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even over the limit")
    parser.add_argument(
        "--statement-timeout", type=int, default=30, help="seconds a query may run (PostgreSQL)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print each page as it is timed")
    args = parser.parse_args()
    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # a timed-out page is reported below
    if connection.vendor != "postgresql":
        print("warning: the benchmark is meant for PostgreSQL (set DATABASE_URL)", file=sys.stderr)
    ensure_data(args.inspections, args.cases)
    if connection.vendor == "postgresql":
        timeout_ms = args.statement_timeout * 1000

        def statement_timeout(sender: Any, connection: Any, **kwargs: Any) -> None:
            with connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {timeout_ms}")

        connection_created.connect(statement_timeout)
        connection.close()
    readers = [r for r in ensure_readers() if r.role in args.roles.split(",")]
    totals = f"{Inspection.objects.count():,} inspections, {Case.objects.count():,} problems"
    print(f"database: {connection.vendor}, {totals}")
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    results: list[Result] = []
    for reader in readers:
        started = time.perf_counter()
        mine = Walker(reader, runs=args.runs, only=args.only, verbose=args.verbose).walk()
        where = Division.objects.get(code=reader.prefix).name if reader.prefix else "全国"
        print(
            f"{reader.role} ({where} {reader.prefix}): {len(mine)} pages "
            f"in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        results += mine
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    slowest = report(results, args.top, args.limit)
    if slowest > args.limit and not args.no_fail:
        sys.exit(1)


if __name__ == "__main__":
    main()
