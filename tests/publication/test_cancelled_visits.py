"""A drawn visit that cannot happen: cancelled with a written reason, and the results go ahead.

The cancellation is logged (who, when, why), listed with the published results and on
the draw's public record; before the results are public only the plan's organisers see it.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from inspections.common.errors import DomainError
from inspections.fieldwork.models import Inspection
from inspections.publication.models import Publication
from inspections.publication.services import publication_create_for_draw, publication_publish
from inspections.sampling.models import Assignment, Cancellation, Draw, EmbargoAccessLog
from inspections.sampling.services import assignment_cancel, sampling_plan_commit, sampling_plan_draw
from tests.builders import plan, region, roster, supervisor
from tests.publication.test_draws import everything_public, submit

pytestmark = pytest.mark.django_db

FLOODED = "进村道路被洪水冲毁，无法到达"


@pytest.fixture
def drawn() -> Draw:
    region()
    roster()
    the_plan = plan()
    sampling_plan_commit(plan=the_plan, user=the_plan.created_by)
    return sampling_plan_draw(plan=the_plan, user=the_plan.created_by)


def first_assignment(draw: Draw) -> Assignment:
    assignment = draw.assignments.select_related("inspection__village").order_by("stratum", "rank").first()
    assert assignment is not None
    return assignment


def test_an_organiser_cancels_a_flooded_visit_and_the_results_go_ahead_listing_it(drawn: Draw) -> None:
    publication = publication_create_for_draw(draw=drawn)
    flooded = first_assignment(drawn)
    organiser = drawn.plan.created_by
    client = Client()
    client.force_login(organiser)
    url = f"/admin/inspections/samplingplan/assignment/{flooded.pk}/cancel/"

    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": FLOODED})

    assert response.status_code == 302
    flooded.inspection.refresh_from_db()
    assert flooded.inspection.status == Inspection.Status.CANCELLED
    cancellation = Cancellation.objects.get(assignment=flooded)
    assert (cancellation.actor, cancellation.reason) == (organiser, FLOODED)
    assert EmbargoAccessLog.objects.filter(action="admin:assignment:cancel").exists()
    plan_page = client.get(f"/admin/inspections/samplingplan/{drawn.plan_id}/change/").content.decode()
    assert FLOODED in plan_page  # the organisers' record of the draw

    submit(publication.inspections.exclude(pk=flooded.inspection_id))
    publication_publish(publication=publication, actor=organiser)

    public = Client()
    result = public.get(f"/api/v1/public/results/{publication.pk}/").json()
    village = flooded.inspection.village
    assert [(row["village"]["code"], row["reason"]) for row in result["cancelled"]] == [
        (village.code, FLOODED)
    ]
    assert result["cancelled"][0]["cancelled_on"] == timezone.localdate(cancellation.at).isoformat()
    assert village.code not in [row["village"]["code"] for row in result["inspections"]]
    assert len(result["inspections"]) == 2
    record = public.get(f"/api/v1/public/draws/{drawn.pk}/").json()
    assert [(c["village"], c["reason"]) for c in record["cancellations"]] == [(village.code, FLOODED)]
    assert {v["code"]: v["status"] for v in record["villages"]}[village.code] == "cancelled"
    for lang in ("zh-hans", "en"):
        page = public.get(f"/public/{lang}/results/{publication.pk}/").content.decode()
        assert FLOODED in page and village.code in page


def test_a_cancellation_needs_a_written_reason_an_organiser_and_an_open_visit(drawn: Draw) -> None:
    flooded = first_assignment(drawn)
    organiser = drawn.plan.created_by

    with pytest.raises(DomainError) as no_reason:
        assignment_cancel(assignment=flooded, user=organiser, reason="  水  ")
    with pytest.raises(DomainError) as stranger:
        assignment_cancel(assignment=flooded, user=supervisor("3305"), reason=FLOODED)
    assignment_cancel(assignment=flooded, user=organiser, reason=FLOODED)
    with pytest.raises(DomainError) as twice:
        assignment_cancel(assignment=flooded, user=organiser, reason=FLOODED)

    assert (no_reason.value.code, no_reason.value.status) == ("reason_required", 400)
    assert (stranger.value.code, stranger.value.status) == ("not_found", 404)
    assert (twice.value.code, twice.value.status) == ("inspection_closed", 409)
    assert Cancellation.objects.count() == 1


def test_a_cancelled_visit_is_not_public_before_the_results_are(drawn: Draw) -> None:
    publication = publication_create_for_draw(draw=drawn)
    flooded = first_assignment(drawn)
    assignment_cancel(assignment=flooded, user=drawn.plan.created_by, reason=FLOODED)
    submit(publication.inspections.exclude(pk=flooded.inspection_id))  # done, not yet published
    outsider = Client()
    outsider.force_login(supervisor("3305"))

    seen = everything_public(Client(), drawn)

    assert FLOODED not in seen and flooded.inspection.village.code not in seen
    assert Client().get(f"/api/v1/public/draws/{drawn.pk}/").status_code == 404
    assert outsider.get(f"/admin/inspections/samplingplan/assignment/{flooded.pk}/cancel/").status_code == 404
    assert Publication.objects.get(pk=publication.pk).published_at is None


def test_a_visit_cancelled_before_the_publication_is_made_is_listed_with_its_results(drawn: Draw) -> None:
    flooded = first_assignment(drawn)
    assignment_cancel(assignment=flooded, user=drawn.plan.created_by, reason=FLOODED)

    publication = publication_create_for_draw(draw=drawn)
    submit(publication.inspections.exclude(pk=flooded.inspection_id))
    publication_publish(publication=publication, actor=drawn.plan.created_by)

    assert flooded.inspection_id in set(publication.inspections.values_list("pk", flat=True))
    result = Client().get(f"/api/v1/public/results/{publication.pk}/").json()
    assert [row["reason"] for row in result["cancelled"]] == [FLOODED]
    assert result["inspection_count"] == 2  # the submitted ones
