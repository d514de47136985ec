"""Key villages (重点村) at their own rate and this year's coverage, frozen at commit and re-run."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, transaction
from django.test import Client
from django.utils import timezone

from inspections.accounts.models import Role
from inspections.cases.models import CaseStatus
from inspections.fieldwork.models import Inspection
from inspections.sampling import draw as sampling_draw
from inspections.sampling.candidates import sampling_plan_candidates
from inspections.sampling.models import KeyVillage, SamplingPlan
from inspections.sampling.selectors import coverage_report
from inspections.sampling.services import (
    sampling_plan_commit,
    sampling_plan_draw,
    sampling_plan_preview,
)
from inspections.sampling.verification import draw_verify
from tests.builders import (
    ANJI,
    DEQING,
    HUZHOU,
    at,
    case,
    inspection,
    inspector,
    organiser,
    plan,
    region,
    responsible_party,
    roster,
    supervisor,
    user,
    village,
)

pytestmark = pytest.mark.django_db

WATER = f"{ANJI}101200"  # a listed black and odorous water body
PROBLEM = f"{DEQING}101201"  # an open (reopened) problem
NAMED = "330522101202"  # named by the plan


@pytest.fixture
def huzhou() -> list[str]:
    roster(per_county=3)
    return region()


def key_world(by: Any) -> None:
    KeyVillage.objects.create(
        village=village(WATER), reason=KeyVillage.Reason.BLACK_ODOROUS_WATER, note="西苕溪支流", added_by=by
    )
    now = timezone.now()
    case(
        PROBLEM,
        opened_at=now - dt.timedelta(days=40),
        deadline=(now - dt.timedelta(days=30)).date(),
        status=CaseStatus.REOPENED,
    )


def test_a_key_rate_of_one_draws_every_key_village_and_the_rest_at_the_plans_size(huzhou: list[str]) -> None:
    by = organiser()
    key_world(by)
    the_plan = plan(by=by, key_rate="1", key_village_codes=[NAMED], sample_size=2, min_per_stratum=0)

    preview = sampling_plan_preview(plan=the_plan)
    key_row = next(s for s in preview.strata if s.code == "key")
    assert (key_row.candidates, key_row.sample) == (3, 3)
    assert preview.sample_size == 5
    assert preview.key_reasons == {"black_odorous_water": 1, "listed": 0, "open_problems": 1, "named": 1}
    assert any(r.stratum == "key" for r in preview.staffing)

    draw = sampling_plan_commit(plan=the_plan, user=by)
    key = draw.parameters["key"]
    assert draw.parameters["format"] == 4
    assert (
        key["codes"] == sorted([WATER, PROBLEM, NAMED])
        and key["sample_size"] == 3
        and key["rate"] == "1.0000"
    )
    assert draw.parameters["sample_size"] == 2  # the rest's

    draw = sampling_plan_draw(plan=the_plan, user=by)
    result: dict[str, Any] = draw.result or {}
    drawn = [(v["code"], v["stratum"]) for v in result["villages"]]
    assert sorted(code for code, stratum in drawn if stratum == "key") == sorted([WATER, PROBLEM, NAMED])
    assert len([code for code, stratum in drawn if stratum != "key"]) == 2
    assert result["allocation"]["key"] == 3
    assert draw_verify(draw=draw, use_secret_seed=True).identical


def test_without_a_key_rate_there_is_no_key_stratum_and_the_listed_village_is_like_any_other(
    huzhou: list[str],
) -> None:
    by = organiser()
    key_world(by)
    draw = sampling_plan_commit(plan=plan(by=by), user=by)

    assert draw.parameters["key"] is None
    assert "key" not in [s.code for s in sampling_plan_preview(plan=plan(by=by)).strata]


def test_a_half_key_rate_rounds_up_and_a_key_set_outside_the_candidates_fails_verification(
    huzhou: list[str],
) -> None:
    by = organiser()
    key_world(by)
    the_plan = plan(by=by, key_rate="0.5", key_village_codes=[NAMED], sample_size=1, min_per_stratum=0)
    sampling_plan_commit(plan=the_plan, user=by)
    draw = sampling_plan_draw(plan=the_plan, user=by)

    assert draw.parameters["key"]["sample_size"] == 2  # ceil(0.5 × 3)
    assert len([v for v in (draw.result or {})["villages"] if v["stratum"] == "key"]) == 2
    parameters = dict(draw.parameters, key={**draw.parameters["key"], "codes": ["330599999999"]})
    with pytest.raises(sampling_draw.DrawInputError):
        sampling_draw.draw_compute(
            seed=bytes.fromhex(draw.seed),
            beacon="",
            candidates_text=draw.candidates,
            roster_text=draw.roster,
            parameters=sampling_draw.DrawParameters.from_frozen(parameters),
        )


def test_parameters_of_older_formats_draw_as_before() -> None:
    """A format-3 draw (no "key", no "coverage") re-runs exactly as it did: the key split is not applied."""
    codes = [f"330523101{200 + n:03d}" for n in range(6)]
    text = sampling_draw.candidates_serialise([(c, sampling_draw.Decimal("1")) for c in codes])
    entries = [sampling_draw.RosterEntry(credential=f"ZJ-{n}", home="3301", capacity=5) for n in range(4)]
    roster_text = sampling_draw.roster_serialise(entries, {}, rule=2)
    old = {
        "sample_size": 3,
        "min_per_stratum": 0,
        "stratum_length": 6,
        "team_size": 2,
        "team_pool_length": 2,
        "recusal": {"rule": 2, "home_length": 6},
    }
    seed = hashlib.sha256(b"old").digest()
    compute = sampling_draw.draw_compute
    before = compute(
        seed=seed,
        beacon="",
        candidates_text=text,
        roster_text=roster_text,
        parameters=sampling_draw.DrawParameters.from_frozen(old),
    )
    again = compute(
        seed=seed,
        beacon="",
        candidates_text=text,
        roster_text=roster_text,
        parameters=sampling_draw.DrawParameters.from_frozen({**old, "key": None, "coverage": {}}),
    )
    assert before.canonical() == again.canonical()
    assert "key" not in before.allocation


def test_key_villages_are_drawn_at_the_key_rate_each_equally_often() -> None:
    """Statistics of the key stratum: 8 equal key villages at rate 0.5, over 4,000 seeds.

    Exactly 4 are drawn each time, and each village's count stays within 4 standard
    deviations of 2,000 (binomial, p = 0.5): a draw that favoured some would fail.
    """
    codes = [f"330523108{200 + n:03d}" for n in range(8)]
    key = sampling_draw.Candidates(codes, [1.0] * 8)
    size = sampling_draw.sample_size_for(rate=sampling_draw.Decimal("0.5"), candidates=8)
    counts: Counter[str] = Counter()
    for n in range(4000):
        drawn = sampling_draw.draw_key_villages(hashlib.sha256(f"seed-{n}".encode()).digest(), key, size)
        assert len(drawn) == 4 and all(stratum == "key" for _c, stratum, _r in drawn)
        counts.update(code for code, _s, _r in drawn)
    sigma = math.sqrt(4000 * 0.5 * 0.5)
    assert all(abs(counts[code] - 2000) < 4 * sigma for code in codes), counts
    assert sum(counts.values()) == 16_000


def test_a_committed_plans_key_and_coverage_settings_cannot_change_even_in_the_database(
    huzhou: list[str],
) -> None:
    by = organiser()
    the_plan = plan(by=by, key_rate="1")
    sampling_plan_commit(plan=the_plan, user=by)

    for change in (
        {"key_rate": "0.5"},
        {"key_village_codes": [NAMED]},
        {"unvisited_weight": 2},
        {"exclude_visited_this_year": True},
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            SamplingPlan.objects.filter(pk=the_plan.pk).update(**change)


# --- Coverage ----------------------------------------------------------------------------------


def visit(code: str, *, submitted_at: dt.datetime | None, mode: str = Inspection.Mode.RANDOM) -> Inspection:
    """A visit of ``code``: submitted at ``submitted_at``, or (None) still to come."""
    if submitted_at is None:
        start = timezone.now() + dt.timedelta(days=2)
        return inspection(village=code, mode=mode, window_start=start)
    return inspection(
        village=code,
        mode=mode,
        status=Inspection.Status.SUBMITTED,
        window_start=submitted_at - dt.timedelta(days=1),
        window_end=submitted_at + dt.timedelta(hours=1),
        submitted_at=submitted_at,
    )


def test_coverage_counts_submitted_visits_of_the_china_year_by_mode() -> None:
    region()
    # 00:30 on 1 January 2025 in China is still 2024 in UTC: it counts for 2025.
    visit(f"{ANJI}101200", submitted_at=dt.datetime(2024, 12, 31, 16, 30, tzinfo=dt.UTC))
    visit(f"{ANJI}101200", submitted_at=at(2025, 3, 1, 10), mode=Inspection.Mode.UNANNOUNCED)
    visit(f"{ANJI}101201", submitted_at=dt.datetime(2024, 12, 31, 15, 30, tzinfo=dt.UTC))  # 23:30, 2024
    visit(f"{ANJI}101202", submitted_at=None, mode=Inspection.Mode.UNANNOUNCED)  # embargoed

    report = coverage_report(prefix=ANJI, year=2025)
    (township,) = report.townships
    assert (report.villages, report.visited) == (5, 1)
    assert report.by_mode == {"random": 1, "unannounced": 1}
    assert [code for code, _n, _m in township.visited_villages] == [f"{ANJI}101200"]
    assert coverage_report(prefix=ANJI, year=2024).visited == 1


def test_a_prefectures_coverage_is_by_county_and_adds_up_to_its_counties() -> None:
    region()
    visit(f"{ANJI}101200", submitted_at=at(2025, 3, 1, 10))
    visit(f"{ANJI}101200", submitted_at=at(2025, 4, 1, 10), mode=Inspection.Mode.UNANNOUNCED)
    visit(f"{ANJI}101201", submitted_at=at(2025, 5, 1, 10))
    visit(f"{DEQING}101200", submitted_at=at(2025, 5, 1, 10))
    visit(f"{DEQING}101201", submitted_at=None)  # embargoed: nowhere

    prefecture = coverage_report(prefix=HUZHOU, year=2025)
    assert not prefecture.by_township
    counties = {row.code: (row.villages, row.visited, row.by_mode) for row in prefecture.townships}
    for county in (ANJI, DEQING):
        alone = coverage_report(prefix=county, year=2025)
        assert alone.by_township
        assert counties[county] == (alone.villages, alone.visited, alone.by_mode)
    assert counties[ANJI][1:] == (2, {"random": 2, "unannounced": 1})
    assert (prefecture.visited, prefecture.by_mode) == (3, {"random": 3, "unannounced": 1})
    assert prefecture.villages == sum(v for v, _visited, _modes in counties.values())


def test_the_coverage_page_ignores_an_area_outside_the_readers_jurisdiction() -> None:
    region()
    visit(f"{ANJI}101200", submitted_at=at(2025, 3, 1, 10))
    client = Client()
    client.force_login(supervisor(DEQING, username="deqing"))
    for area in (ANJI, "33", "x", "3305231012000"):
        html = client.get(f"{COVERAGE}?year=2025&area={area}").content.decode()
        assert f"{ANJI}101" not in html and f"{DEQING}101" in html, area


def test_plans_weigh_up_or_leave_out_villages_visited_this_year(huzhou: list[str]) -> None:
    visit(f"{ANJI}101200", submitted_at=timezone.now() - dt.timedelta(days=1))
    weighted = plan(unvisited_weight=3, staleness_weight=0)
    rows = dict(sampling_plan_candidates(plan=weighted).rows)
    assert rows[f"{ANJI}101200"] == sampling_draw.Decimal("1.000000")
    assert rows[f"{ANJI}101201"] == sampling_draw.Decimal("4.000000")

    strict = plan(exclude_visited_this_year=True)
    candidate_set = sampling_plan_candidates(plan=strict)
    assert f"{ANJI}101200" not in dict(candidate_set.rows)
    assert candidate_set.excluded["visited_this_year"] == 1
    draw = sampling_plan_commit(plan=strict, user=strict.created_by)
    assert draw.parameters["coverage"] == {
        "year": timezone.now().astimezone(dt.timezone(dt.timedelta(hours=8))).year,
        "exclude_visited": True,
    }
    assert draw.parameters["weights"]["per_unvisited_this_year"] == "0.000"


COVERAGE = "/admin/inspections/samplingplan/coverage/"


def readers() -> dict[str, tuple[Any, int]]:
    """Each role and what the coverage page answers it."""
    intake = supervisor(HUZHOU, username="intake")
    intake.groups.add(Group.objects.get(name=Role.COMPLAINT_INTAKE))
    staff_party = responsible_party(f"{ANJI}101", username="party", is_staff=True)
    return {
        "county supervisor": (supervisor(ANJI, username="anji"), 200),
        "prefecture supervisor": (supervisor(HUZHOU, username="huzhou"), 200),
        "other county's supervisor": (supervisor(DEQING, username="deqing"), 200),
        "complaint intake": (intake, 200),
        "responsible party": (staff_party, 404),
        "inspector": (inspector().user, 302),
        "no role": (user(username="nobody"), 302),
    }


def test_the_coverage_page_shows_each_supervisor_their_jurisdiction_in_chinese() -> None:
    region()
    visit(f"{ANJI}101200", submitted_at=at(2025, 3, 1, 10))
    visit(f"{DEQING}101200", submitted_at=None)  # embargoed: nowhere

    for role, (account, status) in readers().items():
        client = Client()
        client.force_login(account)
        response = client.get(f"{COVERAGE}?year=2025", HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == status, role
        if status != 200:
            continue
        html = response.content.decode()
        assert "双随机抽查" in html or role == "other county's supervisor", role
        if account.jurisdiction.code == HUZHOU:
            # A prefecture's report is by county, each leading to its own by township.
            assert f"?area={ANJI}&amp;year=2025" in html and f"{ANJI}101" not in html, role
            html = client.get(
                f"{COVERAGE}?year=2025&area={ANJI}", HTTP_ACCEPT_LANGUAGE="zh-hans"
            ).content.decode()
        assert (f"{ANJI}101" in html) == (role != "other county's supervisor"), role
        assert f"{DEQING}101200" not in html
    anonymous = Client().get(COVERAGE)
    assert anonymous.status_code == 302


def test_the_plan_page_previews_the_key_stratum_and_why_its_villages_are_key(huzhou: list[str]) -> None:
    by = organiser()
    key_world(by)
    the_plan = plan(by=by, key_rate="0.5", key_village_codes=[NAMED])
    client = Client()
    client.force_login(by)

    html = client.get(f"/admin/inspections/samplingplan/{the_plan.pk}/change/").content.decode()

    # The key stratum's row by its name, with no code: 3 candidates, 2 expected.
    assert "<td>重点村</td><td>—</td><td>3</td><td>2</td>" in html
    assert "<td>key</td>" not in html
    assert "1 with a listed black and odorous water body" in html or "黑臭水体" in html
    # What was left out is named, not given by the parameters' codes.
    assert "近期已检查" in html and "recently_inspected" not in html


def test_the_jurisdictions_key_villages_are_listed_and_edited_by_its_supervisors_only() -> None:
    region()
    anji, deqing = supervisor(ANJI, username="anji"), supervisor(DEQING, username="deqing")
    KeyVillage.objects.create(
        village=village(WATER), reason=KeyVillage.Reason.BLACK_ODOROUS_WATER, added_by=anji
    )
    party = responsible_party(f"{ANJI}101", username="party", is_staff=True)
    listing = "/admin/inspections/keyvillage/"
    seen = {}
    for name, account in {"anji": anji, "deqing": deqing, "party": party}.items():
        client = Client()
        client.force_login(account)
        response = client.get(listing)
        seen[name] = (response.status_code, WATER in response.content.decode())
    assert seen == {"anji": (200, True), "deqing": (200, False), "party": (403, False)}

    client = Client()
    client.force_login(anji)
    added = client.post(
        "/admin/inspections/keyvillage/add/",
        {"village": village(f"{ANJI}101201").pk, "reason": KeyVillage.Reason.NAMED, "note": "群众反映集中"},
    )
    assert added.status_code == 302
    assert KeyVillage.objects.get(reason=KeyVillage.Reason.NAMED).added_by == anji
