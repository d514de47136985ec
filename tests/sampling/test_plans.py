"""Sampling plans end to end: preview, commit, beacon, draw, reassignment, publication, verification."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, transaction
from django.test import Client
from django.utils import timezone, translation

from inspections.accounts.models import Inspector
from inspections.cases.models import Case, CaseStatus
from inspections.cases.services.opening import cases_open_for_inspection
from inspections.checklist.models import ProblemCategory
from inspections.common.china_time import local_date
from inspections.common.errors import DomainError
from inspections.fieldwork.models import Finding, Inspection
from inspections.sampling import draw as sampling_draw
from inspections.sampling.candidates import sampling_plan_candidates
from inspections.sampling.models import Assignment, Draw, DrawInputs, Reassignment, SamplingPlan
from inspections.sampling.services import (
    assignment_reassign,
    draw_publish,
    sampling_plan_commit,
    sampling_plan_draw,
    sampling_plan_enter_beacon,
    sampling_plan_preview,
)
from tests.builders import COUNTIES, division, inspector, organiser, plan, region, roster, user, village

pytestmark = pytest.mark.django_db


@pytest.fixture
def huzhou() -> list[str]:
    roster()
    return region()


def nothing_written() -> tuple[int, int, int]:
    return Draw.objects.count(), Inspection.objects.count(), Assignment.objects.count()


def refuse(code: str, action: Any) -> DomainError:
    before = nothing_written()
    with pytest.raises(DomainError) as refusal:
        action()
    assert refusal.value.code == code, refusal.value.detail
    assert nothing_written() == before
    return refusal.value


def submitted_inspection(code: str, *, days_ago: int, findings: int = 0) -> Inspection:
    now = timezone.now()
    inspection = Inspection.objects.create(
        mode=Inspection.Mode.ROUTINE,
        village=village(code),
        window_start=now - timedelta(days=days_ago + 1),
        window_end=now - timedelta(days=days_ago),
        status=Inspection.Status.SUBMITTED,
        submitted_at=now - timedelta(days=days_ago),
    )
    category, _ = ProblemCategory.objects.get_or_create(
        code="garbage-pile",
        defaults={
            "name_zh_hans": "垃圾乱堆",
            "name_en": "Garbage",
            "domain": "garbage",
            "default_severity": "minor",
            "rectification_days": 5,
        },
    )
    for _ in range(findings):
        Finding.objects.create(inspection=inspection, category=category, severity="minor", created_by=user())
    return inspection


# --- Preview and candidates --------------------------------------------------------------


def test_it_previews_the_candidates_and_expected_sample_per_county(huzhou: list[str]) -> None:
    preview = sampling_plan_preview(plan=plan(sample_size=5, min_per_stratum=1))

    assert preview.candidate_count == 12  # residents' committees left out
    assert preview.excluded["class"] == 3
    assert [(s.code, s.candidates, s.sample) for s in preview.strata] == [
        ("330521", 4, 2),  # 1 each, then the 2 left by largest remainder, ties to the smaller code
        ("330522", 4, 2),
        ("330523", 4, 1),
    ]
    assert preview.problem is None
    assert not Draw.objects.exists()


def test_the_preview_explains_a_sample_that_cannot_be_drawn(huzhou: list[str]) -> None:
    preview = sampling_plan_preview(plan=plan(sample_size=50))

    assert preview.problem is not None and "50" in preview.problem


def test_it_leaves_out_recently_inspected_villages_but_never_for_a_visit_still_to_come(
    huzhou: list[str],
) -> None:
    submitted_inspection("330521101200", days_ago=10)
    submitted_inspection("330521101201", days_ago=100)
    now = timezone.now()
    Inspection.objects.create(
        mode=Inspection.Mode.UNANNOUNCED,
        village=village("330521101202"),
        window_start=now + timedelta(days=1),
        window_end=now + timedelta(days=2),
    )

    candidates = sampling_plan_candidates(plan=plan(exclude_inspected_days=30))

    codes = {code for code, _w in candidates.rows}
    assert "330521101200" not in codes
    assert "330521101201" in codes
    # The embargo: a pending visit is nobody's to know of here, so it leaves nothing out.
    assert "330521101202" in codes
    assert candidates.excluded == {"class": 3, "recently_inspected": 1}


def cases_at(code: str, *statuses: tuple[str, int]) -> None:
    """A village inspected 73 days ago with one case per ``(status, deadline in days from today)``."""
    visit = submitted_inspection(code, days_ago=73, findings=len(statuses))
    opened = cases_open_for_inspection(inspection=visit, hand_over=True)
    today = local_date(timezone.now())
    for case, (status, deadline_in) in zip(opened, statuses, strict=True):
        Case.objects.filter(pk=case.pk).update(
            status=status,
            deadline=today + timedelta(days=deadline_in),
            closed_at=timezone.now() if status == CaseStatus.CLOSED else None,
        )


def test_it_weights_by_the_documented_formula(huzhou: list[str]) -> None:
    cases_at(
        "330521101201",
        (CaseStatus.CLOSED, -30),  # closed (销号): neither open nor overdue
        (CaseStatus.RECTIFYING, -1),  # open and overdue
        (CaseStatus.OPEN, 5),  # open, deadline still ahead
        (CaseStatus.AWAITING_VERIFICATION, -3),  # open; rectified, so no longer overdue
    )
    submitted_inspection("330521101202", days_ago=73)
    the_plan = plan(
        base_weight=1,
        open_cases_weight="0.5",
        overdue_cases_weight="1.5",
        staleness_weight=2,
        staleness_cap_days=365,
    )

    weights = dict(sampling_plan_candidates(plan=the_plan).rows)

    # 1 + 0.5 × 3 + 1.5 × 1 + 2 × 73 / 365 = 4.4; no case: 1 + 0.4; never inspected: 1 + 2 × 365 / 365
    assert sampling_draw.weight_text(weights["330521101201"]) == "4.400000"
    assert sampling_draw.weight_text(weights["330521101202"]) == "1.400000"
    assert sampling_draw.weight_text(weights["330523101200"]) == "3.000000"


def test_the_admin_preview_shows_the_weight_formula_and_the_villages_with_cases(huzhou: list[str]) -> None:
    cases_at("330521101201", (CaseStatus.RECTIFYING, -1), (CaseStatus.OPEN, 3))
    cases_at("330522101201", (CaseStatus.OPEN, 3))
    the_plan = plan()
    client = Client()
    client.force_login(the_plan.created_by)

    page = client.get(
        f"/admin/inspections/samplingplan/{the_plan.pk}/change/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "per open case × open cases + per overdue case × overdue cases" in page
    assert "2 candidates with an open case, 1 of them with an overdue one" in page


def test_the_frozen_parameters_name_the_case_weights(huzhou: list[str]) -> None:
    the_plan = plan(open_cases_weight="0.25", overdue_cases_weight=2)

    weights = sampling_plan_commit(plan=the_plan, user=the_plan.created_by).parameters["weights"]

    assert weights["per_open_case"] == "0.250" and weights["per_overdue_case"] == "2.000"
    assert "open_cases" in weights["formula"] and "overdue_cases" in weights["formula"]
    assert "per_finding" not in weights


def test_a_village_with_open_and_overdue_cases_is_drawn_more_often(huzhou: list[str]) -> None:
    cases_at("330521101201", (CaseStatus.RECTIFYING, -2), (CaseStatus.OPEN, -1))  # two overdue
    submitted_inspection("330521101202", days_ago=73)  # the same visit, no case
    the_plan = plan(staleness_weight=0, open_cases_weight="0.5", overdue_cases_weight=1)
    text = sampling_draw.candidates_serialise(sampling_plan_candidates(plan=the_plan).rows)
    candidates = sampling_draw.candidates_parse(text)
    weights = dict(zip(candidates.codes, candidates.weights, strict=True))
    assert weights["330521101201"] == 4.0  # 1 + 0.5 × 2 + 1 × 2
    assert weights["330521101202"] == 1.0

    drawn = Counter[str]()
    runs = 3000
    for n in range(runs):
        seed = hashlib.sha256(f"seed {n}".encode()).digest()
        _allocation, villages = sampling_draw.draw_villages(
            seed, candidates, sample_size=3, minimum=1, stratum_length=6
        )
        drawn.update(code for code, _stratum, _rank in villages)

    # One of 330521's four villages a run, with weights 4, 1, 1, 1: 4/7 and 1/7 of the runs.
    assert abs(drawn["330521101201"] / runs - 4 / 7) < 0.03
    assert abs(drawn["330521101202"] / runs - 1 / 7) < 0.03
    assert drawn["330521101201"] > 3 * drawn["330521101202"]


# --- Commit --------------------------------------------------------------------------------


def test_commit_freezes_the_candidates_and_publishes_only_the_seed_hash(huzhou: list[str]) -> None:
    the_plan = plan()
    draw = sampling_plan_commit(plan=the_plan, user=organiser())

    lines = draw.candidates.splitlines()
    assert len(lines) == draw.candidate_count == 12
    assert lines == sorted(lines) and lines[0] == "330521101200,2.000000"
    assert draw.candidates_sha256 == hashlib.sha256(draw.candidates.encode()).hexdigest()
    assert len(bytes.fromhex(draw.seed)) == 32
    assert draw.seed_commitment == hashlib.sha256(bytes.fromhex(draw.seed)).hexdigest()
    assert draw.revealed_seed == "" and draw.published_at is None
    roster_doc = json.loads(draw.roster)
    assert len(roster_doc["inspectors"]) == 6
    assert draw.parameters["sample_size"] == 3 and draw.parameters["stratum_length"] == 6


def test_two_commits_never_share_a_seed(huzhou: list[str]) -> None:
    first = sampling_plan_commit(plan=plan(), user=organiser())
    second = sampling_plan_commit(plan=plan(), user=organiser())

    assert first.candidates_sha256 == second.candidates_sha256
    assert first.seed != second.seed


def test_a_rate_becomes_a_size_rounded_up_at_commit(huzhou: list[str]) -> None:
    draw = sampling_plan_commit(plan=plan(sample_size=None, sample_rate="0.3"), user=organiser())

    assert draw.parameters["sample_size"] == 4  # ceil(0.3 × 12)


def test_the_roster_leaves_out_inactive_inspectors_and_counts_only_submitted_visits(
    huzhou: list[str],
) -> None:
    inactive = inspector(home_division=division("330502"), is_active=False)
    booked = inspector(home_division=division("330502"), capacity=1)
    unavailable = inspector(home_division=division("330502"), capacity=0)
    the_plan = plan(sample_size=4)  # the pending visit's village stays a candidate: a fourth county
    pending = Inspection.objects.create(
        mode=Inspection.Mode.ROUTINE,
        village=village("330502101200"),
        window_start=the_plan.window_start - timedelta(days=1),
        window_end=the_plan.window_start + timedelta(days=1),
    )
    pending.team.add(booked)
    still_to_come = Inspection.objects.create(
        mode=Inspection.Mode.ROUTINE,
        village=village("330523101201"),
        window_start=timezone.now() + timedelta(days=1),
        window_end=timezone.now() + timedelta(days=2),
    )
    previous = submitted_inspection("330523101200", days_ago=400)
    regular = Inspector.objects.get(credential_number="ZJ-330521-0")
    previous.team.add(inactive, booked, regular)
    still_to_come.team.add(Inspector.objects.get(credential_number="ZJ-330522-0"))

    draw = sampling_plan_commit(plan=the_plan, user=organiser())

    roster_doc = json.loads(draw.roster)
    capacity = {e["credential"]: e["capacity"] for e in roster_doc["inspectors"]}
    assert inactive.credential_number not in capacity
    assert unavailable.credential_number not in capacity
    # A pending visit in the window does not lower the capacity: the roster is public.
    assert capacity[booked.credential_number] == 1
    # Only roster members matter (the others cannot be drawn): by their position in the roster.
    # The village with a visit still to come has no previous team: only submitted visits count.
    position = {e["credential"]: i for i, e in enumerate(roster_doc["inspectors"])}
    assert roster_doc["previous_teams"] == {
        "330523101200": sorted([position["ZJ-330521-0"], position[booked.credential_number]])
    }


def test_a_plan_with_no_candidates_is_refused(huzhou: list[str]) -> None:
    empty = plan(excluded_kinds=["residents", "villagers", "other"])

    refuse("no_candidates", lambda: sampling_plan_commit(plan=empty, user=organiser()))


def test_a_sample_larger_than_the_candidates_is_refused(huzhou: list[str]) -> None:
    detail = refuse(
        "sample_exceeds_candidates", lambda: sampling_plan_commit(plan=plan(sample_size=13), user=organiser())
    ).detail

    assert "13" in str(detail) and "12" in str(detail)


def test_a_minimum_per_stratum_beyond_the_sample_is_refused(huzhou: list[str]) -> None:
    the_plan = plan(sample_size=2, min_per_stratum=1)

    refuse("minimum_exceeds_sample", lambda: sampling_plan_commit(plan=the_plan, user=organiser()))


def test_a_team_of_one_cannot_be_stored(huzhou: list[str]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        plan(team_size=1)


def test_a_team_of_one_is_refused_by_the_admin_form(huzhou: list[str]) -> None:
    from inspections.sampling.admin import SamplingPlanForm

    start = timezone.now() + timedelta(days=2)
    form = SamplingPlanForm(
        data={
            "name": "x",
            "scope": division("3305").pk,
            "window_start": start,
            "window_end": start + timedelta(days=1),
            "organisers": [organiser().pk],
            "sample_size": 3,
            "stratum_level": 6,
            "min_per_stratum": 1,
            "exclude_inspected_days": 0,
            "base_weight": 1,
            "open_cases_weight": 0,
            "overdue_cases_weight": 0,
            "staleness_weight": 0,
            "staleness_cap_days": 365,
            "team_size": 1,
            "team_pool": 2,
        }
    )

    with translation.override("en"):
        assert not form.is_valid()
        assert "A team needs at least two inspectors." in str(form.errors)


def test_a_window_in_the_past_is_refused(huzhou: list[str]) -> None:
    start = timezone.now() - timedelta(hours=1)
    the_plan = plan(window_start=start, window_end=start + timedelta(days=3))

    refuse("window_in_past", lambda: sampling_plan_commit(plan=the_plan, user=organiser()))


def test_a_second_commit_is_refused(huzhou: list[str]) -> None:
    the_plan = plan()
    sampling_plan_commit(plan=the_plan, user=organiser())

    refuse("already_committed", lambda: sampling_plan_commit(plan=the_plan, user=organiser()))


def test_a_committed_draw_cannot_be_changed_even_in_the_database(huzhou: list[str]) -> None:
    draw = sampling_plan_commit(plan=plan(), user=organiser())

    with pytest.raises(DatabaseError), transaction.atomic():
        DrawInputs.objects.filter(draw=draw).update(candidates=draw.candidates + "330521101299,1.000000\n")
    for change in (
        {"candidates_sha256": "0" * 64},
        {"seed": "0" * 64},
        {"seed_commitment": "0" * 64},
        {"parameters": {"sample_size": 99}},
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            Draw.objects.filter(pk=draw.pk).update(**change)


def test_a_committed_plan_cannot_be_changed_even_in_the_database(huzhou: list[str]) -> None:
    the_plan = plan()
    SamplingPlan.objects.filter(pk=the_plan.pk).update(sample_size=4)  # a draft may change
    sampling_plan_commit(plan=the_plan, user=organiser())

    for change in (
        {"sample_size": 5},
        {"open_cases_weight": 3},
        {"overdue_cases_weight": 3},
        {"staleness_weight": 3},
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            SamplingPlan.objects.filter(pk=the_plan.pk).update(**change)


# --- Beacon ----------------------------------------------------------------------------------


def test_a_beacon_before_the_commit_is_refused(huzhou: list[str]) -> None:
    the_plan = plan()

    refuse(
        "not_committed",
        lambda: sampling_plan_enter_beacon(plan=the_plan, user=organiser(), value="123", source="福彩3D"),
    )


def test_the_beacon_is_mixed_into_the_seed(huzhou: list[str]) -> None:
    the_plan = plan()
    draw = sampling_plan_commit(plan=the_plan, user=organiser())
    sampling_plan_enter_beacon(
        plan=the_plan, user=organiser(), value="  07 12 19  ", source="福彩3D 第2025100期"
    )
    draw = sampling_plan_draw(plan=the_plan, user=organiser())

    seed = bytes.fromhex(draw.seed)
    mixed = sampling_draw.effective_seed(seed, "07 12 19")
    parameters = sampling_draw.DrawParameters.from_frozen(draw.parameters)
    with_beacon = sampling_draw.draw_compute(
        seed=seed,
        beacon="07 12 19",
        candidates_text=draw.candidates,
        roster_text=draw.roster,
        parameters=parameters,
    )
    assert mixed != seed
    assert draw.beacon == "07 12 19"
    assert draw.result == with_beacon.as_dict()


def test_a_second_beacon_and_a_beacon_after_the_draw_are_refused(huzhou: list[str]) -> None:
    the_plan = plan()
    sampling_plan_commit(plan=the_plan, user=organiser())
    sampling_plan_enter_beacon(plan=the_plan, user=organiser(), value="1", source="x")

    refuse(
        "beacon_already_entered",
        lambda: sampling_plan_enter_beacon(plan=the_plan, user=organiser(), value="2", source="x"),
    )
    other = plan()
    sampling_plan_commit(plan=other, user=organiser())
    sampling_plan_draw(plan=other, user=organiser())
    refuse(
        "already_drawn",
        lambda: sampling_plan_enter_beacon(plan=other, user=organiser(), value="2", source="x"),
    )


# --- Draw --------------------------------------------------------------------------------------


def test_it_draws_one_village_per_county_into_inspections_with_recused_teams(huzhou: list[str]) -> None:
    boss = organiser()
    the_plan = plan(by=boss)
    sampling_plan_commit(plan=the_plan, user=boss)

    draw = sampling_plan_draw(plan=the_plan, user=boss)

    inspections = list(
        Inspection.objects.filter(assignment__draw=draw).prefetch_related("team", "organisers")
    )
    assert sorted(i.village.code[:6] for i in inspections) == COUNTIES
    for inspection in inspections:
        assert inspection.mode == Inspection.Mode.RANDOM
        assert inspection.status == Inspection.Status.SCHEDULED
        assert (inspection.window_start, inspection.window_end) == (
            the_plan.window_start,
            the_plan.window_end,
        )
        assert list(inspection.organisers.all()) == [boss]
        team = list(inspection.team.all())
        assert len(team) == 2
        assert all(member.home_division.code != inspection.village.code[:6] for member in team)
    assert draw.result is not None
    assert (
        draw.result_sha256 == hashlib.sha256(sampling_draw.canonical_json(draw.result).encode()).hexdigest()
    )


def test_a_draw_before_the_commit_and_a_second_draw_are_refused(huzhou: list[str]) -> None:
    the_plan = plan()
    refuse("not_committed", lambda: sampling_plan_draw(plan=the_plan, user=organiser()))
    sampling_plan_commit(plan=the_plan, user=organiser())
    sampling_plan_draw(plan=the_plan, user=organiser())

    refuse("already_drawn", lambda: sampling_plan_draw(plan=the_plan, user=organiser()))


def test_a_plan_the_roster_cannot_staff_is_refused_at_commit_with_each_strata_shortfall() -> None:
    region()
    roster(per_county=1)  # one inspector per county: 2 without a conflict per village, capacity 3
    the_plan = plan(sample_size=6, team_size=3)

    refusal = refuse("understaffed", lambda: sampling_plan_commit(plan=the_plan, user=organiser()))

    short = {s["stratum"]: s for s in refusal.extra["strata"]}
    assert set(short) == {"330521", "330522", "330523"}
    # Two villages each, three places a team: 6 places; two inspectors may go (not the home county's).
    assert short["330521"] == {
        "stratum": "330521",
        "name": "区划330521",
        "villages": 2,
        "slots": 6,
        "inspectors": 2,
        "capacity": 6,
        "shortfall": 1,
    }
    assert "区划330521" in refusal.detail
    assert refusal.extra["total"] == {"slots": 18, "capacity": 9}


def test_full_capacities_refuse_the_commit_naming_the_total() -> None:
    region()
    roster(per_county=1, capacity=1)  # 3 places for 3 villages × 2 members
    the_plan = plan(sample_size=3)

    refusal = refuse("understaffed", lambda: sampling_plan_commit(plan=the_plan, user=organiser()))

    assert refusal.extra["strata"] == []
    assert refusal.extra["total"] == {"slots": 6, "capacity": 3}
    assert "6" in refusal.detail and "3" in refusal.detail


# --- Reassignment --------------------------------------------------------------------------------


@pytest.fixture
def drawn(huzhou: list[str]) -> Draw:
    the_plan = plan()
    sampling_plan_commit(plan=the_plan, user=the_plan.created_by)
    return sampling_plan_draw(plan=the_plan, user=the_plan.created_by)


def test_a_reassignment_needs_a_reason_and_is_logged(drawn: Draw) -> None:
    assignment = drawn.assignments.select_related("inspection__village").first()
    assert assignment is not None
    county = assignment.inspection.village.code[:6]
    newcomers = [
        inspector(home_division=division("330502"), credential_number=f"ZJ-NEW-{n}") for n in range(2)
    ]
    boss = drawn.plan.created_by

    with pytest.raises(DomainError) as refusal:
        assignment_reassign(assignment=assignment, user=boss, team=newcomers, reason="  ")
    assert refusal.value.code == "reason_required"

    change = assignment_reassign(assignment=assignment, user=boss, team=newcomers, reason="王某因病不能出行")

    assert change.actor == boss
    assert change.team_before == sorted(assignment.drawn_team)
    assert change.team_after == ["ZJ-NEW-0", "ZJ-NEW-1"]
    assert {m.credential_number for m in assignment.inspection.team.all()} == {"ZJ-NEW-0", "ZJ-NEW-1"}
    assert county != "330502"
    with pytest.raises(DatabaseError), transaction.atomic():
        Reassignment.objects.filter(pk=change.pk).update(reason="edited afterwards")


def test_a_reassignment_cannot_break_recusal(drawn: Draw) -> None:
    assignment = drawn.assignments.select_related("inspection__village").first()
    assert assignment is not None
    local = inspector(home_division=division(assignment.inspection.village.code[:6]))
    other = inspector(home_division=division("330502"))

    with pytest.raises(DomainError) as refusal:
        assignment_reassign(
            assignment=assignment, user=drawn.plan.created_by, team=[local, other], reason="换人：原因说明"
        )

    assert refusal.value.code == "invalid_team"
    assert not Reassignment.objects.exists()


def test_a_reassignment_respects_the_capacities_frozen_in_the_draw() -> None:
    region()
    roster(per_county=3, capacity=1)  # one visit each in this draw
    the_plan = plan()
    sampling_plan_commit(plan=the_plan, user=the_plan.created_by)
    drawn = sampling_plan_draw(plan=the_plan, user=the_plan.created_by)
    first = drawn.assignments.select_related("inspection__village").order_by("pk")[0]
    county = first.inspection.village.code[:6]
    # The other two visits have four places and the first village's county only three inspectors.
    busy = next(
        member
        for other in drawn.assignments.exclude(pk=first.pk)
        for member in other.inspection.team.select_related("home_division")
        if member.home_division.code != county
    )
    staying = first.inspection.team.first()
    assert staying is not None
    newcomer = inspector(home_division=division("330502"), credential_number="ZJ-NEW-0")  # not on the roster
    boss = the_plan.created_by

    with translation.override("en"), pytest.raises(DomainError) as refusal:
        assignment_reassign(assignment=first, user=boss, team=[staying, busy], reason="换人：原因说明")

    assert refusal.value.code == "invalid_team"
    detail = str(refusal.value.detail)
    assert "full capacity" in detail and busy.credential_number in detail
    assert staying.credential_number not in detail  # their one visit is this one
    change = assignment_reassign(
        assignment=first, user=boss, team=[staying, newcomer], reason="换人：原因说明"
    )
    assert set(change.team_after) == {staying.credential_number, "ZJ-NEW-0"}


def test_only_an_organiser_can_reassign(drawn: Draw) -> None:
    assignment = drawn.assignments.first()
    assert assignment is not None

    with pytest.raises(DomainError) as refusal:
        assignment_reassign(assignment=assignment, user=organiser(), team=[], reason="no right to do this")

    assert refusal.value.status == 404


# --- Publication and verification ------------------------------------------------------------------


def submit_all(draw: Draw) -> None:
    Inspection.objects.filter(assignment__draw=draw).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )


def test_publication_waits_for_every_inspection_then_reveals_the_seed(drawn: Draw) -> None:
    with pytest.raises(DomainError) as refusal:
        draw_publish(draw=drawn)
    assert refusal.value.code == "embargo_active"

    submit_all(drawn)
    published = draw_publish(draw=drawn)

    assert published.revealed_seed == published.seed
    assert published.published_at is not None
    assert draw_publish(draw=drawn).published_at == published.published_at  # idempotent


def test_publication_before_the_draw_is_refused(huzhou: list[str]) -> None:
    draw = sampling_plan_commit(plan=plan(), user=organiser())

    with pytest.raises(DomainError) as refusal:
        draw_publish(draw=draw)

    assert refusal.value.code == "not_drawn"


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_draw", *args, stdout=out)
    return out.getvalue()


def test_verify_draw_reports_identical_for_a_published_draw(drawn: Draw) -> None:
    assignment = drawn.assignments.select_related("inspection__village").first()
    assert assignment is not None
    newcomers = [inspector(home_division=division("330502")) for _ in range(2)]
    assignment_reassign(
        assignment=assignment, user=drawn.plan.created_by, team=newcomers, reason="logged change is fine"
    )
    submit_all(drawn)
    draw_publish(draw=drawn)

    output = verify(str(drawn.pk))

    assert f"draw {drawn.pk}: identical (result SHA-256 {drawn.result_sha256})" in output


def test_verify_draw_refuses_before_publication_unless_the_operator_asks(drawn: Draw) -> None:
    with pytest.raises(CommandError, match="not published"):
        verify(str(drawn.pk))

    assert "identical" in verify(str(drawn.pk), "--use-secret-seed")


def test_verify_draw_names_the_first_difference_of_an_unlogged_change(drawn: Draw) -> None:
    assignment = drawn.assignments.select_related("inspection__village").first()
    assert assignment is not None
    assignment.inspection.team.set([inspector(home_division=division("330502"))])  # behind the log's back

    with pytest.raises(CommandError, match=f"DIFFERENT: live teams: {assignment.inspection.village.code}"):
        verify(str(drawn.pk), "--use-secret-seed")


def test_verify_draw_checks_a_saved_public_record(drawn: Draw, tmp_path: Any) -> None:
    submit_all(drawn)
    draw_publish(draw=drawn)
    from tests.conftest import client_for

    record = client_for(user()).get(f"/api/v1/public/draws/{drawn.pk}/").json()
    good = tmp_path / "record.json"
    good.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    assert "identical" in verify("--record", str(good))

    first = record["result"]["villages"][0]
    first["team"] = list(reversed(first["team"]))
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError, match="village #1"):
        verify("--record", str(bad))

    record["revealed_seed"] = "11" * 32
    bad.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError, match="seed commitment"):
        verify("--record", str(bad))
