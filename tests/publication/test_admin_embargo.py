"""An unpublished results publication is its organisers' alone; its organiser picker is scoped.

A drawn plan's publication exists before its visits: it names the plan and
its visits. A supervisor who does not organise it gets exactly what they
would get if it did not exist, in the list, on its page and when saving it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django import forms
from django.db import transaction
from django.test import Client
from django.utils import timezone

from inspections.accounts.models import User
from inspections.accounts.roles import sync_role_groups
from inspections.fieldwork.models import Inspection
from inspections.publication.models import Publication
from inspections.publication.services import publication_create_for_draw, publication_publish
from inspections.sampling.models import Draw
from inspections.sampling.services import sampling_plan_commit, sampling_plan_draw
from tests.builders import HUZHOU, division, plan, region, roster, supervisor, user

pytestmark = pytest.mark.django_db

LIST = "/admin/inspections/publication/"


def change_url(pk: int) -> str:
    return f"/admin/inspections/publication/{pk}/change/"


class World:
    def __init__(self) -> None:
        sync_role_groups()
        region()
        roster()
        self.organiser = supervisor(HUZHOU, username="organiser")
        self.bystander = supervisor(HUZHOU, username="bystander")  # covers the villages, organises nothing
        the_plan = plan(by=self.organiser)
        sampling_plan_commit(plan=the_plan, user=self.organiser)
        self.draw: Draw = sampling_plan_draw(plan=the_plan, user=self.organiser)

    def client(self, account: User) -> Client:
        client = Client()
        client.force_login(account)
        return client

    def partly_visited(self) -> Publication:
        """The draw's publication, one visit submitted and the others still ahead."""
        publication = publication_create_for_draw(draw=self.draw)
        first = publication.inspections.order_by("pk").first()
        assert first is not None
        Inspection.objects.filter(pk=first.pk).update(
            status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
        )
        return publication


@pytest.fixture
def world() -> World:
    return World()


def html(response: Any) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_the_list_reads_the_same_to_a_bystander_with_or_without_the_publication(world: World) -> None:
    client = world.client(world.bystander)
    seen = []
    for exists in (False, True):
        with transaction.atomic():
            if exists:
                world.partly_visited()
            seen.append(html(client.get(LIST)))
            transaction.set_rollback(True)

    assert seen[1] == seen[0]
    assert world.draw.plan.name not in seen[1]


def test_its_page_answers_a_bystander_as_if_it_did_not_exist(world: World) -> None:
    publication = world.partly_visited()
    client = world.client(world.bystander)

    page = client.get(change_url(publication.pk))
    missing = client.get(change_url(publication.pk + 1000))

    assert page.status_code == missing.status_code == 302
    assert page["Location"] == missing["Location"]
    assert Publication.objects.count() == 1


def test_a_bystander_cannot_save_it_nor_add_themselves(world: World) -> None:
    publication = world.partly_visited()
    client = world.client(world.bystander)

    visited = publication.inspections.filter(status=Inspection.Status.SUBMITTED)
    client.post(
        change_url(publication.pk),
        {
            "title_zh_hans": "改过的标题",
            "title_en": "",
            "inspections": [i.pk for i in visited],  # what the bystander may see of it
            "organisers": [world.organiser.pk, world.bystander.pk],
        },
    )

    publication.refresh_from_db()
    assert publication.title_zh_hans == world.draw.plan.name
    assert list(publication.organisers.all()) == [world.organiser]


def test_its_organiser_sees_and_saves_it(world: World) -> None:
    publication = world.partly_visited()
    client = world.client(world.organiser)

    assert client.get(change_url(publication.pk)).status_code == 200
    saved = client.post(
        change_url(publication.pk),
        {
            "title_zh_hans": "新标题",
            "title_en": "",
            "inspections": [i.pk for i in publication.inspections.all()],
            "organisers": [world.organiser.pk],
        },
    )

    assert saved.status_code == 302, html(saved)[:2000]
    publication.refresh_from_db()
    assert publication.title_zh_hans == "新标题"


def test_once_published_a_bystander_may_read_it_but_not_change_it(world: World) -> None:
    publication = publication_create_for_draw(draw=world.draw)
    Inspection.objects.filter(assignment__draw=world.draw).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )
    publication_publish(publication=publication, actor=world.organiser)
    client = world.client(world.bystander)

    assert client.get(change_url(publication.pk)).status_code == 200
    refused = client.post(
        change_url(publication.pk),
        {"title_zh_hans": "改过的标题", "title_en": "", "organisers": [world.bystander.pk]},
    )

    assert refused.status_code == 403
    publication.refresh_from_db()
    assert publication.title_zh_hans == world.draw.plan.name
    assert list(publication.organisers.all()) == [world.organiser]


def test_the_organiser_picker_offers_staff_of_the_editors_jurisdiction_only(world: World) -> None:
    publication = world.partly_visited()
    elsewhere = supervisor("11", username="beijing")
    not_staff = user(username="plain", jurisdiction=world.organiser.jurisdiction)

    page = world.client(world.organiser).get(change_url(publication.pk))

    offered = set(page.context["adminform"].form.fields["organisers"].queryset)
    assert {world.organiser, world.bystander} <= offered
    assert elsewhere not in offered and not_staff not in offered
    plan_page = world.client(world.organiser).get("/admin/inspections/samplingplan/add/")
    assert set(plan_page.context["adminform"].form.fields["organisers"].queryset) == offered


def test_an_organiser_who_may_not_see_a_pending_visit_cannot_be_added(world: World) -> None:
    publication = world.partly_visited()
    client = world.client(world.organiser)

    refused = client.post(
        change_url(publication.pk),
        {
            "title_zh_hans": world.draw.plan.name,
            "title_en": "",
            "inspections": [i.pk for i in publication.inspections.all()],
            "organisers": [world.organiser.pk, world.bystander.pk],
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert refused.status_code == 200
    assert "bystander may not see every chosen inspection that is still to be visited." in html(refused)
    assert list(publication.organisers.all()) == [world.organiser]


def test_organisers_the_editor_cannot_offer_stay_on_it(world: World) -> None:
    publication = world.partly_visited()
    county = supervisor("330523", username="county")
    publication.organisers.add(county)
    # The draw's visits are the Huzhou organiser's; the county organiser is made one of them too.
    for inspection in publication.inspections.all():
        inspection.organisers.add(county)

    saved = world.client(county).post(
        change_url(publication.pk),
        {
            "title_zh_hans": "县里改的标题",
            "title_en": "",
            "inspections": [i.pk for i in publication.inspections.all()],
            "organisers": [county.pk],
        },
    )

    assert saved.status_code == 302, html(saved)[:2000]
    assert set(publication.organisers.all()) == {world.organiser, county}


def test_a_draft_plan_saved_by_a_county_organiser_keeps_its_wider_organisers() -> None:
    sync_role_groups()
    region()
    prefecture = supervisor(HUZHOU, username="prefecture")
    county = supervisor("330523", username="county")
    draft = plan(by=prefecture, scope=division("330523"))
    draft.organisers.add(county)
    client = Client()
    client.force_login(county)
    url = f"/admin/inspections/samplingplan/{draft.pk}/change/"
    form = client.get(url).context["adminform"].form
    assert prefecture not in set(form.fields["organisers"].queryset)  # not the county's to offer
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            continue
        if isinstance(field.widget, forms.SplitDateTimeWidget):
            local = timezone.localtime(field.to_python(value) if not hasattr(value, "date") else value)
            data[f"{name}_0"], data[f"{name}_1"] = local.date().isoformat(), local.time().isoformat()
        else:
            data[name] = value
    data["organisers"] = [county.pk]
    data["name"] = "县里改过的计划"

    saved = client.post(url, data)

    assert saved.status_code == 302, html(saved)[:3000]
    draft.refresh_from_db()
    assert draft.name == "县里改过的计划"
    assert set(draft.organisers.all()) == {prefecture, county}


def test_whoever_creates_a_publication_organises_it(world: World) -> None:
    visited = world.partly_visited().inspections.filter(status=Inspection.Status.SUBMITTED)
    client = world.client(world.organiser)

    created = client.post(
        "/admin/inspections/publication/add/",
        {
            "title_zh_hans": "补充结果",
            "title_en": "",
            "inspections": [i.pk for i in visited],
            "organisers": [],
        },
    )

    assert created.status_code == 302, html(created)[:2000]
    publication = Publication.objects.get(title_zh_hans="补充结果")
    assert list(publication.organisers.all()) == [world.organiser]
    assert world.client(world.organiser).get(change_url(publication.pk)).status_code == 200


def test_the_inspection_picker_searches_instead_of_listing_every_inspection(world: World) -> None:
    from inspections.sampling.models import EmbargoAccessLog

    publication = world.partly_visited()
    client = world.client(world.organiser)
    page = client.get(change_url(publication.pk)).content.decode()
    picker = re.search(r'<select[^>]*name="inspections"[^>]*>(.*?)</select>', page, re.S)
    assert picker is not None and "admin-autocomplete" in page
    # Only the chosen inspections are rendered as options; the rest come from the search.
    assert picker.group(1).count("<option") == publication.inspections.count()
    add = client.get("/admin/inspections/publication/add/").content.decode()
    empty = re.search(r'<select[^>]*name="inspections"[^>]*>(.*?)</select>', add, re.S)
    assert empty is not None and "<option" not in empty.group(1)

    params = {
        "app_label": "inspections",
        "model_name": "publication",
        "field_name": "inspections",
        "term": "",
    }
    before = EmbargoAccessLog.objects.filter(action="admin:inspection:autocomplete").count()
    found = client.get("/admin/autocomplete/", params).json()["results"]
    assert {int(r["id"]) for r in found} == set(publication.inspections.values_list("pk", flat=True))
    pending = publication.inspections.exclude(status=Inspection.Status.SUBMITTED).count()
    assert EmbargoAccessLog.objects.filter(action="admin:inspection:autocomplete").count() == before + pending

    # A supervisor who organises none of these visits finds only what they may see: none ahead.
    seen = world.client(world.bystander).get("/admin/autocomplete/", params).json()["results"]
    assert {int(r["id"]) for r in seen} == set(
        publication.inspections.filter(status=Inspection.Status.SUBMITTED).values_list("pk", flat=True)
    )
