"""The embargo: nothing of a drawn inspection leaks before its time, to anyone, anywhere.

Roles: the organiser (a supervisor), another supervisor whose jurisdiction
covers the villages, a responsible party of a drawn village's township, an
inspector on the team, an inspector not on it, an account without a role, and
the anonymous public. Surfaces: the assignments API (list, detail, count),
the public record, the embargo selector, and the admin's plan list, count,
filters, search, change page, workflow pages and access log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inspections.accounts.models import Inspector, User
from inspections.fieldwork.models import Inspection
from inspections.fieldwork.selectors import inspection_list
from inspections.sampling.models import Draw, EmbargoAccessLog
from inspections.sampling.selectors import sampling_plan_list
from inspections.sampling.services import draw_publish, sampling_plan_commit, sampling_plan_draw
from tests.builders import (
    ProblemCategoryFactory,
    division,
    inspector,
    organiser,
    plan,
    region,
    responsible_party,
    roster,
    supervisor,
    user,
)
from tests.conftest import assert_problem, client_for

pytestmark = pytest.mark.django_db

LIST = "/api/v1/assignments/"


class World:
    def __init__(self) -> None:
        region()
        roster()
        ProblemCategoryFactory(code="garbage-pile", name_zh_hans="垃圾乱堆")
        self.organiser = organiser()
        self.plan = plan(by=self.organiser, sample_size=3)
        sampling_plan_commit(plan=self.plan, user=self.organiser)
        self.draw: Draw = sampling_plan_draw(plan=self.plan, user=self.organiser)
        self.inspection: Inspection = (
            Inspection.objects.filter(assignment__draw=self.draw).select_related("village").order_by("id")[0]
        )
        team = list(self.inspection.team.select_related("user"))
        self.member: User = team[0].user
        self.outsider: User = Inspector.objects.exclude(inspections=self.inspection).first().user  # type: ignore[union-attr]
        self.other_supervisor = supervisor("3305")
        self.responsible = responsible_party(self.inspection.village.code[:9])
        self.nobody = user()

    def open_window(self) -> None:
        """Move the visit window so that it has started (as time passing would)."""
        start = timezone.now() - timedelta(hours=1)
        Inspection.objects.filter(assignment__draw=self.draw).update(
            window_start=start, window_end=start + timedelta(days=2)
        )

    def everyone_but_the_organiser(self) -> list[User]:
        return [self.member, self.outsider, self.other_supervisor, self.responsible, self.nobody]


@pytest.fixture
def world() -> World:
    return World()


def detail(pk: int) -> str:
    return f"/api/v1/assignments/{pk}/"


# --- API ----------------------------------------------------------------------------------------


def test_before_the_window_nobody_sees_the_inspection_in_the_api(world: World) -> None:
    for account in [world.organiser, *world.everyone_but_the_organiser()]:
        client = client_for(account)
        listing = client.get(LIST)
        assert listing.status_code == 200
        assert listing.json()["count"] == 0, account
        assert_problem(client.get(detail(world.inspection.pk)), 404, "not_found")


def test_the_team_sees_its_inspection_from_the_start_of_the_window(world: World) -> None:
    world.open_window()

    body = client_for(world.member).get(LIST).json()

    items = {item["id"]: item for item in body["results"]}
    item = items[world.inspection.pk]
    assert item["mode"] == "random"
    assert item["village"]["code"] == world.inspection.village.code
    assert item["village"]["name"] == world.inspection.village.name
    assert "location" in item["village"]
    assert item["geofence_radius_m"] == 1000
    assert [c["code"] for c in item["checklist"]] == ["garbage-pile"]
    assert len(item["team"]) == 2
    assert client_for(world.member).get(detail(world.inspection.pk)).json()["id"] == world.inspection.pk


def test_after_the_window_opens_everyone_else_still_gets_a_404_not_a_403(world: World) -> None:
    world.open_window()

    for account in [world.organiser, world.outsider, world.other_supervisor, world.responsible, world.nobody]:
        client = client_for(account)
        ids = [item["id"] for item in client.get(LIST).json()["results"]]
        assert world.inspection.pk not in ids, account
        assert_problem(client.get(detail(world.inspection.pk)), 404, "not_found")


def test_an_unknown_id_and_a_foreign_id_look_the_same(world: World) -> None:
    world.open_window()
    client = client_for(world.outsider)

    foreign = client.get(detail(world.inspection.pk))
    unknown = client.get(detail(999_999))

    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["detail"] == unknown.json()["detail"]


def test_the_assignments_need_an_account(world: World, api: Any) -> None:
    assert_problem(api.get(LIST), 401, "not_authenticated")


def test_a_submitted_inspection_leaves_the_worklist(world: World) -> None:
    world.open_window()
    Inspection.objects.filter(pk=world.inspection.pk).update(status="submitted", submitted_at=timezone.now())

    ids = [item["id"] for item in client_for(world.member).get(LIST).json()["results"]]
    assert world.inspection.pk not in ids


def test_reads_by_the_team_are_logged(world: World) -> None:
    world.open_window()
    client_for(world.member).get(LIST)
    client_for(world.member).get(detail(world.inspection.pk))

    actions = list(EmbargoAccessLog.objects.filter(user=world.member).values_list("action", "inspection_id"))
    assert ("api:assignments:detail", world.inspection.pk) in actions
    assert ("api:assignments:list", world.inspection.pk) in actions


def test_the_assignment_list_costs_the_same_queries_for_one_or_many(world: World) -> None:
    world.open_window()
    member = Inspector.objects.get(user=world.member)
    client = client_for(world.member)

    last: list[dict[str, str]] = []

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        last[:] = captured.captured_queries
        return len(captured)

    one = queries()
    for n in range(5):
        extra = Inspection.objects.create(
            mode="routine",
            village=world.inspection.village,
            window_start=timezone.now() - timedelta(hours=1),
            window_end=timezone.now() + timedelta(days=1),
        )
        extra.team.add(member, Inspector.objects.exclude(pk=member.pk)[n])
    many = queries()

    # user (JWT), count (the team membership names the caller's inspector profile: no
    # query for it first), page of inspections with village and township, teams with
    # their users, access-log insert, checklist
    assert one == many == 6, "\n".join(q["sql"][:100] for q in last)


# --- Selectors --------------------------------------------------------------------------------------


def test_the_embargo_selector_shows_the_inspection_only_to_its_organisers_before_the_window(
    world: World,
) -> None:
    assert inspection_list(user=world.organiser).filter(pk=world.inspection.pk).exists()
    for account in world.everyone_but_the_organiser():
        assert not inspection_list(user=account).filter(pk=world.inspection.pk).exists(), account
        assert not sampling_plan_list(user=account).exists(), account


def test_the_jurisdiction_sees_it_only_once_submitted(world: World) -> None:
    world.open_window()
    assert not inspection_list(user=world.responsible).filter(pk=world.inspection.pk).exists()

    Inspection.objects.filter(pk=world.inspection.pk).update(status="submitted", submitted_at=timezone.now())

    assert inspection_list(user=world.responsible).filter(pk=world.inspection.pk).exists()
    assert inspection_list(user=world.other_supervisor).filter(pk=world.inspection.pk).exists()


# --- The public record -------------------------------------------------------------------------------


def test_the_public_record_is_a_404_before_publication(world: World, api: Any) -> None:
    assert_problem(api.get(f"/api/v1/public/draws/{world.draw.pk}/"), 404, "not_found")
    assert_problem(api.get("/api/v1/public/draws/999999/"), 404, "not_found")


def test_the_public_record_after_publication_shows_everything_needed_to_rerun_it(
    world: World, api: Any
) -> None:
    Inspection.objects.filter(assignment__draw=world.draw).update(
        status="submitted", submitted_at=timezone.now()
    )
    draw_publish(draw=world.draw)

    with CaptureQueriesContext(connection) as captured:
        response = api.get(f"/api/v1/public/draws/{world.draw.pk}/")

    assert response.status_code == 200
    record = response.json()
    world.draw.refresh_from_db()
    assert record["revealed_seed"] == world.draw.seed
    assert record["seed_commitment"] == world.draw.seed_commitment
    assert record["candidates"] == world.draw.candidates
    assert record["candidates_sha256"] == world.draw.candidates_sha256
    assert record["plan"]["scope"]["code"] == "3305"
    assert record["parameters"]["sample_size"] == 3
    assert len(record["villages"]) == 3
    assert record["result"] == world.draw.result
    assert record["reassignments"] == []
    # draw with plan, scope and frozen inputs, assignments with inspections and villages, teams, reassignments
    assert len(captured) == 4


# --- Admin ---------------------------------------------------------------------------------------------


def admin_client(account: User) -> Client:
    client = Client()
    client.force_login(account)
    return client


PLANS = "/admin/inspections/samplingplan/"


def test_the_organiser_sees_the_plan_in_the_admin_and_the_reads_are_logged(world: World) -> None:
    client = admin_client(world.organiser)

    listing = client.get(PLANS)
    page = client.get(f"{PLANS}{world.plan.pk}/change/")

    assert listing.status_code == 200 and world.plan.name in listing.content.decode()
    assert page.status_code == 200
    assert world.inspection.village.name in page.content.decode()
    logged = EmbargoAccessLog.objects.filter(user=world.organiser)
    assert logged.filter(action="admin:plan:list", plan=world.plan).count() == 1
    assert logged.filter(action="admin:plan:view", plan=world.plan).count() == 1
    assert logged.filter(action="admin:plan:view", inspection__isnull=False).count() == 3


def test_no_one_else_finds_the_plan_in_the_admin_list_count_filters_or_search(world: World) -> None:
    for account in [world.other_supervisor]:
        client = admin_client(account)
        for query in ("", "?q=双随机", "?status=drawn", "?stratum_level__exact=6"):
            page = client.get(PLANS + query)
            assert page.status_code == 200
            text = page.content.decode()
            assert world.plan.name not in text
            assert "0 sampling plans" in text or "0 个" in text or "0 " in text
            assert page.context["cl"].result_count == 0
            assert page.context["cl"].full_result_count == 0


def test_no_one_else_can_open_the_plan_or_its_workflow_pages(world: World) -> None:
    client = admin_client(world.other_supervisor)
    page = client.get(f"{PLANS}{world.plan.pk}/change/")
    assert page.status_code == 302  # the admin's "does not exist" redirect, the same as for an unknown id
    assert client.get(f"{PLANS}999999/change/").status_code == 302
    for action in ("commit", "beacon", "draw", "publish"):
        assert client.get(f"{PLANS}{world.plan.pk}/{action}/").status_code == 404
    assignment = world.draw.assignments.first()
    assert assignment is not None
    assert client.get(f"{PLANS}assignment/{assignment.pk}/reassign/").status_code == 404
    assert not EmbargoAccessLog.objects.filter(user=world.other_supervisor).exists()


def test_accounts_without_the_admin_see_no_admin_page(world: World) -> None:
    for account in (world.member, world.responsible, world.nobody):
        response = admin_client(account).get(PLANS)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_access_log_is_for_the_organisers_to_review(world: World) -> None:
    world.open_window()
    client_for(world.member).get(LIST)
    logs = "/admin/inspections/embargoaccesslog/"

    mine = admin_client(world.organiser).get(logs)
    theirs = admin_client(world.other_supervisor).get(logs)

    assert mine.status_code == 200
    assert mine.context["cl"].result_count >= 1
    assert world.member.username in mine.content.decode()
    assert theirs.status_code == 200 and theirs.context["cl"].result_count == 0


def test_the_inspector_page_lists_only_submitted_visits(world: World) -> None:
    admin = user(is_superuser=True, is_staff=True)
    member = Inspector.objects.get(user=world.member)

    page = admin_client(admin).get(f"/admin/inspections/inspector/{member.pk}/change/")

    assert page.status_code == 200
    assert world.inspection.village.name not in page.content.decode()


def test_the_workflow_runs_from_the_admin(world: World) -> None:
    region()
    boss = organiser()
    client = admin_client(boss)
    fresh = plan(by=boss, sample_size=3)

    assert client.get(f"{PLANS}{fresh.pk}/commit/").status_code == 200
    client.post(f"{PLANS}{fresh.pk}/beacon/", {"value": "123", "source": "x"})  # before commit: refused
    assert not Draw.objects.filter(plan=fresh).exists()
    client.post(f"{PLANS}{fresh.pk}/commit/")
    client.post(f"{PLANS}{fresh.pk}/beacon/", {"value": "123", "source": "福彩3D"})
    client.post(f"{PLANS}{fresh.pk}/draw/")

    draw = Draw.objects.get(plan=fresh)
    assert draw.beacon == "123" and draw.drawn_at is not None
    assignment = draw.assignments.select_related("inspection__village").first()
    assert assignment is not None
    newcomers = [inspector(home_division=division("330502")) for _ in range(2)]
    client.post(
        f"{PLANS}assignment/{assignment.pk}/reassign/",
        {"team": [m.pk for m in newcomers], "reason": "原定人员回避"},
    )
    assert assignment.reassignments.count() == 1
    page = client.get(f"{PLANS}{fresh.pk}/change/")
    assert "原定人员回避" in page.content.decode()
    assert draw.seed not in page.content.decode()  # the secret never shows before publication
