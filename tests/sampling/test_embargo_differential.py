"""The embargo, differentially: a plan reads the same with or without a visit its reader may not know of.

Another organiser's plan over the same villages and the same window is
committed in both worlds; in one of them it is also drawn, so that its visits
are pending (scheduled, teams from the same roster). The reader (the
organiser of a second plan, or the public) may not see them, so the preview,
the commit page, the plan's page, the frozen candidates and roster, the public
record of the later draw (published while the other visits are still pending)
and a reassignment must be exactly the same in both worlds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from inspections.accounts.models import Inspector, User
from inspections.common.errors import DomainError
from inspections.fieldwork.models import Inspection
from inspections.fieldwork.selectors import inspection_list
from inspections.sampling.models import Assignment, Draw, SamplingPlan
from inspections.sampling.services import (
    assignment_reassign,
    draw_publish,
    sampling_plan_commit,
    sampling_plan_draw,
    sampling_plan_preview,
)
from tests.builders import HUZHOU, plan, region, roster, supervisor

pytestmark = pytest.mark.django_db

T = TypeVar("T")

# Fields of the public record that do not depend on the secret seed.
FROZEN_INPUTS = [
    "plan",
    "parameters",
    "candidate_count",
    "candidates",
    "candidates_sha256",
    "roster",
    "roster_sha256",
]


class World:
    def __init__(self) -> None:
        region()
        roster(per_county=4, capacity=1)  # one visit each: a pending visit would use it up
        self.reader = supervisor(HUZHOU, username="reader")
        self.other = supervisor(HUZHOU, username="other")
        # Committed in both worlds (so that every id is the same); drawn in one only.
        self.other_plan = plan(by=self.other, sample_size=3, name="另一批")
        self.other_draw = sampling_plan_commit(plan=self.other_plan, user=self.other)
        self.plan = plan(by=self.reader, sample_size=3, exclude_inspected_days=30)
        self.now = timezone.now()

    def draw_the_other_plan(self) -> list[Inspection]:
        """The other organiser's visits: pending, in the reader's scope and window, with roster teams."""
        sampling_plan_draw(plan=self.other_plan, user=self.other)
        pending = list(Inspection.objects.filter(assignment__draw__plan=self.other_plan))
        assert len(pending) == 3
        assert not inspection_list(user=self.reader).filter(pk__in=[i.pk for i in pending]).exists()
        return pending


@pytest.fixture
def world() -> World:
    return World()


def both_ways(world: World, observe: Callable[[], T]) -> tuple[T, T]:
    """``observe()`` without and then with the other organiser's pending visits; nothing is kept."""
    seen: list[T] = []
    for hidden in (False, True):
        with transaction.atomic():
            if hidden:
                world.draw_the_other_plan()
            seen.append(observe())
            transaction.set_rollback(True)
    return seen[0], seen[1]


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    # The CSRF token is masked afresh on every response.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def admin_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_preview_is_the_same_with_or_without_another_organisers_pending_visits(world: World) -> None:
    without, with_hidden = both_ways(world, lambda: sampling_plan_preview(plan=world.plan, now=world.now))

    assert with_hidden == without
    assert "open_inspection" not in without.excluded


def test_the_plans_page_and_commit_page_are_the_same_for_its_organiser(world: World) -> None:
    client = admin_client(world.reader)
    urls = [
        f"/admin/inspections/samplingplan/{world.plan.pk}/change/",
        f"/admin/inspections/samplingplan/{world.plan.pk}/commit/",
    ]

    without, with_hidden = both_ways(world, lambda: [page(client, url) for url in urls])

    assert with_hidden == without
    assert "<b>12</b>" in without[1]  # the preview, on the commit page: every candidate


def test_the_frozen_candidates_and_roster_are_the_same(world: World) -> None:
    def commit() -> tuple[Any, ...]:
        draw = sampling_plan_commit(plan=world.plan, user=world.reader, now=world.now)
        return draw.parameters, draw.candidate_count, draw.candidates, draw.roster

    without, with_hidden = both_ways(world, commit)

    assert with_hidden == without
    assert without[1] == 12  # every villagers' committee: none is left out for a pending visit


def publish_the_readers_draw(world: World) -> Draw:
    sampling_plan_commit(plan=world.plan, user=world.reader, now=world.now)
    draw = sampling_plan_draw(plan=world.plan, user=world.reader, now=world.now)
    Inspection.objects.filter(assignment__draw=draw).update(
        status=Inspection.Status.SUBMITTED, submitted_at=world.now
    )
    return draw_publish(draw=draw, now=world.now)


def test_the_public_record_published_while_other_visits_are_pending_tells_nothing_of_them(
    world: World,
) -> None:
    public = Client()

    def record() -> dict[str, Any]:
        draw = publish_the_readers_draw(world)
        response = public.get(f"/api/v1/public/draws/{draw.pk}/")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return {key: body[key] for key in FROZEN_INPUTS}

    without, with_hidden = both_ways(world, record)

    assert with_hidden == without
    assert without["parameters"]["excluded_counts"] == {"class": 3, "recently_inspected": 0}
    assert all(e["capacity"] == 1 for e in json.loads(without["roster"])["inspectors"])


def test_a_reassignment_is_judged_the_same_with_or_without_a_pending_visit_to_the_village(
    world: World,
) -> None:
    sampling_plan_commit(plan=world.plan, user=world.reader, now=world.now)
    draw = sampling_plan_draw(plan=world.plan, user=world.reader, now=world.now)
    assignment = Assignment.objects.filter(draw=draw).select_related("inspection__village").first()
    assert assignment is not None
    inspection = assignment.inspection
    village_code = inspection.village.code
    # Two eligible replacements: from another county, not on this draw's teams.
    busy = set(
        Inspection.team.through.objects.filter(inspection__assignment__draw=draw).values_list(
            "inspector_id", flat=True
        )
    )
    replacements = list(
        Inspector.objects.exclude(pk__in=busy)
        .exclude(home_division__code=village_code[:6])
        .order_by("credential_number")[:2]
    )
    assert len(replacements) == 2

    def reassign() -> tuple[str, Any]:
        try:
            change = assignment_reassign(
                assignment=assignment, user=world.reader, team=replacements, reason="原队员病假，换人"
            )
        except DomainError as refusal:
            return "refused", str(refusal.detail)
        return "changed", change.team_after

    def with_earlier_pending_visit() -> tuple[str, Any]:
        # Another organiser's visit to the same village, before this one, with a replacement on its team.
        earlier = Inspection.objects.create(
            mode=Inspection.Mode.UNANNOUNCED,
            village=inspection.village,
            window_start=inspection.window_start - timedelta(days=2),
            window_end=inspection.window_start - timedelta(days=1),
        )
        earlier.team.add(replacements[0])
        earlier.organisers.add(world.other)
        return reassign()

    seen = []
    for observe in (reassign, with_earlier_pending_visit):
        with transaction.atomic():
            seen.append(observe())
            transaction.set_rollback(True)

    assert seen[1] == seen[0] == ("changed", [r.credential_number for r in replacements])


def test_the_plan_list_counts_only_the_readers_plans(world: World) -> None:
    client = admin_client(world.reader)

    without, with_hidden = both_ways(world, lambda: page(client, "/admin/inspections/samplingplan/"))

    assert with_hidden == without
    assert SamplingPlan.objects.count() == 2
