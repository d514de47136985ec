"""Publishing a drawn plan's results reveals its seed and opens the draw's public record, never before."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from inspections.common.errors import DomainError
from inspections.fieldwork.models import Inspection
from inspections.publication.models import Publication
from inspections.publication.services import (
    publication_create,
    publication_create_for_draw,
    publication_publish,
)
from inspections.sampling.models import Draw, EmbargoAccessLog
from inspections.sampling.services import sampling_plan_commit, sampling_plan_draw
from tests.builders import organiser, plan, region, roster

pytestmark = pytest.mark.django_db


@pytest.fixture
def drawn() -> Draw:
    region()
    roster()
    the_plan = plan()
    sampling_plan_commit(plan=the_plan, user=the_plan.created_by)
    return sampling_plan_draw(plan=the_plan, user=the_plan.created_by)


def submit(inspections: object) -> None:
    Inspection.objects.filter(pk__in=[i.pk for i in inspections]).update(  # type: ignore[attr-defined]
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )


def everything_public(client: Client, draw: Draw) -> str:
    """Every public page and API answer about results, and the draw's public record."""
    parts = [client.get(f"/api/v1/public/draws/{draw.pk}/").content.decode()]
    for lang in ("zh-hans", "en"):
        parts.append(client.get(f"/public/{lang}/").content.decode())
        listing = client.get(f"/api/v1/public/results/?lang={lang}")
        parts.append(listing.content.decode())
        for row in listing.json()["results"]:
            parts.append(client.get(f"/api/v1/public/results/{row['id']}/?lang={lang}").content.decode())
            parts.append(client.get(f"/public/{lang}/results/{row['id']}/").content.decode())
    return "\n".join(parts)


def test_publishing_the_results_reveals_the_seed_and_opens_the_public_draw_record(drawn: Draw) -> None:
    publication = publication_create_for_draw(draw=drawn)
    client = Client()
    assert client.get(f"/api/v1/public/draws/{drawn.pk}/").status_code == 404

    submit(publication.inspections.all())
    publication_publish(publication=publication, actor=drawn.plan.created_by)

    drawn.refresh_from_db()
    assert drawn.published_at is not None and drawn.revealed_seed == drawn.seed
    record = client.get(f"/api/v1/public/draws/{drawn.pk}/")
    assert record.status_code == 200 and record.json()["revealed_seed"] == drawn.seed
    result = client.get(f"/api/v1/public/results/{publication.pk}/").json()
    assert result["draw"] == drawn.pk
    assert result["draw_url"] == f"/api/v1/public/draws/{drawn.pk}/"
    assert result["revealed_seed"] == drawn.seed
    page = client.get(f"/public/en/results/{publication.pk}/").content.decode()
    assert drawn.seed in page and f'href="/api/v1/public/draws/{drawn.pk}/"' in page


def test_an_unpublished_draw_stays_secret_everywhere(drawn: Draw) -> None:
    publication = publication_create_for_draw(draw=drawn)
    submit(publication.inspections.all())  # done, but not yet published
    other = publication_create(
        title_zh_hans="另一批结果", inspections=list(publication.inspections.all()[:1])
    )
    submit(other.inspections.all())
    publication_publish(publication=other, actor=drawn.plan.created_by)  # results without the draw
    admin = Client()
    admin.force_login(drawn.plan.created_by)

    public = everything_public(Client(), drawn)
    pages = [
        admin.get(f"/admin/inspections/publication/{publication.pk}/change/").content.decode(),
        admin.get(f"/admin/inspections/samplingplan/{drawn.plan_id}/change/").content.decode(),
    ]

    assert Client().get(f"/api/v1/public/draws/{drawn.pk}/").status_code == 404
    assert "另一批结果" in public
    for text in (public, *pages):
        assert drawn.seed not in text
    drawn.refresh_from_db()
    assert drawn.revealed_seed == "" and drawn.published_at is None


def test_results_are_not_published_while_a_visit_of_the_draw_is_open(drawn: Draw) -> None:
    publication = publication_create_for_draw(draw=drawn)
    open_one = publication.inspections.order_by("id").first()
    assert open_one is not None
    publication.inspections.remove(open_one)  # an organiser left the open visit out
    submit(publication.inspections.all())

    with pytest.raises(DomainError) as refusal:
        publication_publish(publication=publication, actor=drawn.plan.created_by)

    assert refusal.value.code == "embargo_active"
    publication.refresh_from_db()
    drawn.refresh_from_db()
    assert publication.published_at is None
    assert drawn.published_at is None and drawn.revealed_seed == ""


def test_a_drawn_plan_gets_its_results_publication_from_the_admin(drawn: Draw) -> None:
    client = Client()
    client.force_login(drawn.plan.created_by)
    url = f"/admin/inspections/samplingplan/{drawn.plan_id}/results/"

    assert client.get(url).status_code == 200
    created = client.post(url)

    publication = Publication.objects.get(draw=drawn)
    assert created["Location"] == f"/admin/inspections/publication/{publication.pk}/change/"
    assert set(publication.inspections.all()) == set(Inspection.objects.filter(assignment__draw=drawn))
    assert list(publication.organisers.all()) == [drawn.plan.created_by]
    assert publication.title_zh_hans == drawn.plan.name
    assert client.post(url)["Location"] == created["Location"]  # one per draw
    assert Publication.objects.filter(draw=drawn).count() == 1
    page = client.get(created["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "the seed is revealed when these results are published" in page.content.decode()
    # its visits are still ahead: the organiser's read is logged
    assert EmbargoAccessLog.objects.filter(action="admin:publication:view").count() == 3


def test_only_a_drawn_plan_gets_a_results_publication() -> None:
    region()
    roster()
    the_plan = plan()
    draw = sampling_plan_commit(plan=the_plan, user=organiser())

    with pytest.raises(DomainError) as refusal:
        publication_create_for_draw(draw=draw)

    assert refusal.value.code == "not_drawn"
    assert not Publication.objects.exists()
