"""Recusal by the real rule, staffing before the commit, and voiding a draw that cannot be drawn."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from inspections.accounts.models import Inspector, InspectorConflict
from inspections.common.errors import DomainError
from inspections.fieldwork.models import Inspection
from inspections.sampling import draw as sampling_draw
from inspections.sampling.models import Draw, RecusalLevel, SamplingPlan
from inspections.sampling.services import (
    assignment_reassign,
    draw_void,
    sampling_plan_commit,
    sampling_plan_draw,
    sampling_plan_preview,
)
from inspections.sampling.verification import draw_verify, record_verify
from tests.builders import COUNTIES, division, inspector, organiser, plan, region, roster, supervisor, village

pytestmark = pytest.mark.django_db

ZHEJIANG = "33"
HUZHOU = "3305"


def refuse(code: str, action: Any) -> DomainError:
    with pytest.raises(DomainError) as refusal:
        action()
    assert refusal.value.code == code, refusal.value.detail
    return refusal.value


def national_roster() -> dict[str, Inspector]:
    """Provincial, prefecture and county staff, as a real roster has them."""
    people = {
        # Provincial staff at the province's department, from Deqing.
        "province-deqing": inspector(
            credential_number="ZJ-P-1", home_division=division(ZHEJIANG), home_county=division("330521")
        ),
        "province-anji": inspector(
            credential_number="ZJ-P-2", home_division=division(ZHEJIANG), home_county=division("330523")
        ),
        # Prefecture staff of Huzhou, from Changxing.
        "prefecture-changxing": inspector(
            credential_number="ZJ-S-1", home_division=division(HUZHOU), home_county=division("330522")
        ),
        "prefecture-deqing": inspector(
            credential_number="ZJ-S-2", home_division=division(HUZHOU), home_county=division("330521")
        ),
    }
    for county in COUNTIES:  # the county's own 执法队
        for n in range(2):
            people[f"county-{county}-{n}"] = inspector(
                credential_number=f"ZJ-{county}-{n}", home_division=division(county)
            )
    return people


def home_counties() -> dict[str, str]:
    return {
        i.credential_number: i.recusal_county_code()
        for i in Inspector.objects.select_related("home_division", "home_county")
    }


def drawn_teams(draw: Draw) -> list[tuple[str, list[str]]]:
    assert draw.result is not None
    return [(v["code"], v["team"]) for v in draw.result["villages"]]


@pytest.mark.parametrize("scope", [ZHEJIANG, HUZHOU, "330523"])
def test_a_real_roster_staffs_county_prefecture_and_provincial_plans_never_at_home(scope: str) -> None:
    region()
    people = national_roster()
    by = supervisor(scope)
    size = 2 if len(scope) == 6 else 6
    the_plan = plan(by=by, scope=division(scope), sample_size=size, stratum_level=0)

    sampling_plan_commit(plan=the_plan, user=by)
    draw = sampling_plan_draw(plan=the_plan, user=by)

    homes = home_counties()
    teams = drawn_teams(draw)
    assert len(teams) == size
    for code, team in teams:
        assert len(team) == 2
        assert all(not code.startswith(homes[c]) for c in team), (code, team)
    if scope == "330523":
        # Anji's plan draws from outside Anji: provincial and prefecture staff are eligible there.
        credentials = {c for _code, team in teams for c in team}
        assert credentials <= {
            people[k].credential_number
            for k in ("province-deqing", "prefecture-changxing", "prefecture-deqing")
        } | {f"ZJ-{c}-{n}" for c in ("330521", "330522") for n in range(2)}
    assert draw_verify(draw=draw, use_secret_seed=True).identical


def test_provincial_staff_are_recused_only_from_their_home_county() -> None:
    entry = sampling_draw.RosterEntry("ZJ-P-1", home="33", capacity=3, home_county="330521")

    assert entry.recused_from("330521101200") == "home"
    assert entry.recused_from("330522101200") is None
    assert entry.recused_from("330102001200") is None
    # A plan's stricter rule: the whole home prefecture.
    assert entry.recused_from("330522101200", home_length=4) == "home"
    assert entry.recused_from("330102001200", home_length=4) is None


def test_the_old_rule_still_recomputes_old_draws() -> None:
    """Draws frozen before rule 2 (no "recusal" parameter, no home_county in the roster) keep rule 1."""
    entries = [
        sampling_draw.RosterEntry("A", home="33", capacity=3),
        sampling_draw.RosterEntry("B", home="330521", capacity=3),
        sampling_draw.RosterEntry("C", home="330522", capacity=3),
    ]
    text = sampling_draw.roster_serialise(entries, {})
    assert "home_county" not in text  # the old format, byte for byte
    roster = sampling_draw.roster_parse(text)
    legacy = sampling_draw.DrawParameters.from_frozen(
        {"sample_size": 1, "min_per_stratum": 0, "stratum_length": 0, "team_size": 2, "team_pool_length": 0}
    )
    assert legacy.recusal_rule == sampling_draw.RECUSAL_RULE_LEGACY
    # Rule 1 recuses "A" from the whole province: village 330523… has only B and C.
    teams = sampling_draw.draw_teams(b"s" * 32, ["330523101200"], roster, team_size=2, pool_length=0)
    assert sorted(teams["330523101200"]) == ["B", "C"]
    with pytest.raises(sampling_draw.UnstaffableError):
        sampling_draw.draw_teams(b"s" * 32, ["330521101200"], roster, team_size=2, pool_length=0)


def test_named_conflicts_are_recused_and_frozen_in_the_roster() -> None:
    region()
    roster(per_county=2, capacity=5)
    friend = Inspector.objects.get(credential_number="ZJ-330521-0")
    # Lives in a village of Anji's township 101, related to Changxing's township 101.
    InspectorConflict.objects.create(
        inspector=friend, kind=InspectorConflict.Kind.LIVES, village=village("330523101200")
    )
    InspectorConflict.objects.create(
        inspector=friend, kind=InspectorConflict.Kind.RELATED, division=division("330522101")
    )
    the_plan = plan(sample_size=9, min_per_stratum=3)

    draw = sampling_plan_commit(plan=the_plan, user=the_plan.created_by)
    frozen = {e["credential"]: e for e in json.loads(draw.roster)["inspectors"]}
    assert frozen["ZJ-330521-0"]["conflicts"] == ["330522101", "330523101200"]
    assert frozen["ZJ-330521-0"]["home_county"] == "330521"
    assert draw.parameters["recusal"] == {"rule": 2, "home_length": 6}

    draw = sampling_plan_draw(plan=the_plan, user=the_plan.created_by)
    for code, team in drawn_teams(draw):
        if code.startswith("330522101") or code == "330523101200":
            assert "ZJ-330521-0" not in team
        assert all(not code.startswith(c.split("-")[1]) for c in team)


def test_a_reassignment_to_a_declared_conflict_is_refused() -> None:
    region()
    roster(per_county=2)
    the_plan = plan(sample_size=3)
    sampling_plan_commit(plan=the_plan, user=organiser())
    draw = sampling_plan_draw(plan=the_plan, user=organiser())
    assignment = draw.assignments.select_related("inspection__village").first()
    assert assignment is not None
    code = assignment.inspection.village.code
    outsiders = [
        i
        for i in Inspector.objects.select_related("home_division")
        if not code.startswith(i.home_division.code)
    ][:2]
    InspectorConflict.objects.create(
        inspector=outsiders[0], kind=InspectorConflict.Kind.WORKS, division=division(code[:9])
    )

    refusal = refuse(
        "invalid_team",
        lambda: assignment_reassign(
            assignment=assignment, user=the_plan.created_by, team=outsiders, reason="病假，换人"
        ),
    )
    assert "conflict" in refusal.detail or "利害关系" in refusal.detail


def test_a_plan_may_recuse_the_whole_home_prefecture() -> None:
    region()
    national_roster()
    by = supervisor(ZHEJIANG)
    the_plan = plan(by=by, scope=division(HUZHOU), sample_size=3, recusal_level=RecusalLevel.PREFECTURE)

    # Everyone of the roster is from Huzhou: under the stricter rule nobody may go.
    refusal = refuse("understaffed", lambda: sampling_plan_commit(plan=the_plan, user=by))

    assert {s["inspectors"] for s in refusal.extra["strata"]} == {0}
    assert not Draw.objects.filter(plan=the_plan).exists()


def test_the_preview_shows_places_against_capacity_per_stratum() -> None:
    region()
    roster(per_county=1)
    the_plan = plan(sample_size=6, team_size=3)

    preview = sampling_plan_preview(plan=the_plan)

    rows = {r.stratum: (r.villages, r.slots, r.inspectors, r.capacity, r.shortfall) for r in preview.staffing}
    assert rows == {county: (2, 6, 2, 6, 1) for county in COUNTIES}
    assert (preview.slots, preview.roster_capacity) == (18, 9)
    assert preview.problem is not None and "区划330521" in preview.problem


def test_the_admin_preview_shows_the_staffing_table() -> None:
    region()
    roster(per_county=1)
    the_plan = plan(sample_size=6, team_size=3)
    client = Client()
    client.force_login(the_plan.created_by)

    page = client.get(f"/admin/inspections/samplingplan/{the_plan.pk}/change/").content.decode()

    assert "team places" in page or "检查组名额" in page
    assert "short by 1" in page or "缺 1" in page


# --- Voiding -----------------------------------------------------------------------------------


def previous_visit(code: str, team: list[Inspector]) -> None:
    now = timezone.now()
    visit = Inspection.objects.create(
        mode=Inspection.Mode.ROUTINE,
        village=village(code),
        window_start=now - timedelta(days=30),
        window_end=now - timedelta(days=29),
        status=Inspection.Status.SUBMITTED,
        submitted_at=now - timedelta(days=29),
    )
    visit.team.set(team)


@pytest.fixture
def undrawable() -> SamplingPlan:
    """Staffable by the numbers, but Deqing's villages all had Changxing's inspector last time."""
    codes = region()
    roster(per_county=1)
    changxing = Inspector.objects.get(credential_number="ZJ-330522-0")
    for code in codes:
        if code.startswith("330521"):
            previous_visit(code, [changxing])
    the_plan = plan(sample_size=3)
    sampling_plan_commit(plan=the_plan, user=organiser())
    return the_plan


def test_an_undrawable_draw_is_voided_with_its_reason_on_the_public_record(undrawable: SamplingPlan) -> None:
    refuse("unstaffable", lambda: sampling_plan_draw(plan=undrawable, user=undrawable.created_by))
    refuse("reason_required", lambda: draw_void(plan=undrawable, user=undrawable.created_by, reason=" "))

    draw = draw_void(
        plan=undrawable, user=undrawable.created_by, reason="德清县可派人员均为上次检查组成员，另行制定计划"
    )

    assert draw.status == Draw.Status.VOIDED
    refuse("draw_voided", lambda: sampling_plan_draw(plan=undrawable, user=undrawable.created_by))
    refuse("draw_voided", lambda: draw_void(plan=undrawable, user=undrawable.created_by, reason="再次作废"))
    record = Client().get(f"/api/v1/public/draws/{draw.pk}/").json()
    assert record["void_reason"] == "德清县可派人员均为上次检查组成员，另行制定计划"
    assert record["voided_at"] is not None and record["drawn_at"] is None
    # Nothing was drawn: the seed is public, and anyone can re-run the failure.
    assert record["revealed_seed"] == Draw.objects.get(pk=draw.pk).seed
    assert record_verify(record).identical
    out = StringIO()
    call_command("verify_draw", str(draw.pk), stdout=out)
    assert "identical" in out.getvalue()


def test_a_drawable_draw_cannot_be_voided() -> None:
    region()
    roster(per_county=2)
    the_plan = plan(sample_size=3)
    sampling_plan_commit(plan=the_plan, user=organiser())

    refuse(
        "draw_can_be_drawn", lambda: draw_void(plan=the_plan, user=the_plan.created_by, reason="想换一批村")
    )
    sampling_plan_draw(plan=the_plan, user=organiser())
    refuse(
        "draw_can_be_drawn", lambda: draw_void(plan=the_plan, user=the_plan.created_by, reason="想换一批村")
    )


def test_someone_who_does_not_organise_the_plan_cannot_void_it(undrawable: SamplingPlan) -> None:
    refuse("not_found", lambda: draw_void(plan=undrawable, user=organiser(), reason="不是我的计划"))


def test_a_forged_void_does_not_verify(undrawable: SamplingPlan) -> None:
    draw = draw_void(plan=undrawable, user=undrawable.created_by, reason="德清县无人可派")
    record = Client().get(f"/api/v1/public/draws/{draw.pk}/").json()
    roster_doc = json.loads(record["roster"])
    roster_doc["previous_teams"] = {}  # as if Deqing's villages had no previous team: staffable
    record["roster"] = sampling_draw.canonical_json(roster_doc)
    record["roster_sha256"] = sampling_draw.sha256_hex(record["roster"])

    report = record_verify(record)

    assert not report.identical
    assert report.difference is not None and "should not have been voided" in report.difference


# --- Rural scope -------------------------------------------------------------------------------


def test_a_plan_leaves_residents_committees_out_unless_asked() -> None:
    region()
    roster()
    by = organiser()
    start = timezone.now() + timedelta(days=3)
    the_plan = SamplingPlan.objects.create(
        name="默认范围",
        scope=division(HUZHOU),
        window_start=start,
        window_end=start + timedelta(days=2),
        sample_size=3,
        created_by=by,
    )
    the_plan.organisers.add(by)

    assert sampling_plan_preview(plan=the_plan).excluded["class"] == 3
    asked = plan(excluded_kinds=[], sample_size=3)
    assert sampling_plan_preview(plan=asked).candidate_count == 15


def test_a_plan_can_keep_only_some_urban_rural_classes() -> None:
    region()
    roster()
    village("330521101200").__class__.objects.filter(code="330521101200").update(urban_rural_class="210")
    village("330521101201").__class__.objects.filter(code="330521101201").update(urban_rural_class="220")
    the_plan = plan(urban_rural_classes=["220"], sample_size=3)

    preview = sampling_plan_preview(plan=the_plan)

    # 12 villagers' committees, one of them a township centre (210) left out; unknown classes kept.
    assert preview.candidate_count == 11
    assert preview.excluded["urban_rural_class"] == 1
    draw = sampling_plan_commit(plan=the_plan, user=organiser())
    assert draw.parameters["urban_rural_classes"] == ["220"]
    assert "330521101200" not in draw.candidates


def test_provincial_and_prefecture_staff_alone_can_staff_a_county_plan() -> None:
    """The bug that blocked the first real draw: they were recused from their whole province."""
    region()
    for n, (home, county) in enumerate(
        [(ZHEJIANG, "330521"), (ZHEJIANG, "330522"), (HUZHOU, "330521"), (HUZHOU, "330523")]
    ):
        inspector(credential_number=f"ZJ-X-{n}", home_division=division(home), home_county=division(county))
    by = supervisor("330523")
    the_plan = plan(by=by, scope=division("330523"), sample_size=2)

    sampling_plan_commit(plan=the_plan, user=by)
    draw = sampling_plan_draw(plan=the_plan, user=by)

    members = {c for _code, team in drawn_teams(draw) for c in team}
    assert members <= {"ZJ-X-0", "ZJ-X-1", "ZJ-X-2"}  # never ZJ-X-3, from Anji
    assert len(drawn_teams(draw)) == 2


def test_the_admin_voids_an_undrawable_draw_with_a_reason(undrawable: SamplingPlan) -> None:
    client = Client()
    client.force_login(undrawable.created_by)
    url = f"/admin/inspections/samplingplan/{undrawable.pk}/void/"
    assert client.get(url).status_code == 200

    short = client.post(url, {"reason": "无"})
    assert short.status_code == 200  # the form asks for a real reason
    assert Draw.objects.get(plan=undrawable).voided_at is None
    done = client.post(url, {"reason": "德清县无人可派，另行制定计划"})

    assert done.status_code == 302
    draw = Draw.objects.get(plan=undrawable)
    assert draw.void_reason == "德清县无人可派，另行制定计划"
    page = client.get(f"/admin/inspections/samplingplan/{undrawable.pk}/change/").content.decode()
    assert "德清县无人可派，另行制定计划" in page


def test_the_database_writes_a_void_once(undrawable: SamplingPlan) -> None:
    from django.db import DatabaseError, transaction

    draw = draw_void(plan=undrawable, user=undrawable.created_by, reason="德清县无人可派")

    with pytest.raises(DatabaseError), transaction.atomic():
        Draw.objects.filter(pk=draw.pk).update(void_reason="改写理由")
    with pytest.raises(DatabaseError), transaction.atomic():
        Draw.objects.filter(pk=draw.pk).update(voided_at=None, voided_by=None, void_reason="")
    assert Draw.objects.get(pk=draw.pk).void_reason == "德清县无人可派"
