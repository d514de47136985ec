"""The plan page offers only the steps its state allows: 锁定, then the beacon, the draw, publishing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.translation import gettext, override

from inspections.sampling.admin import plan_steps
from inspections.sampling.models import Draw
from inspections.sampling.services import sampling_plan_commit, sampling_plan_draw, sampling_plan_enter_beacon
from tests.builders import organiser, plan, region, roster

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_pages(settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def buttons(client: Client, pk: int) -> list[str]:
    html = client.get(f"/admin/inspections/samplingplan/{pk}/change/").content.decode()
    tools = re.search(r'<ul class="object-tools">(.*?)</ul>', html, re.S)
    assert tools is not None
    return [label.strip() for label in re.findall(r"<a [^>]*>([^<]+)</a>", tools.group(1))]


def test_each_state_shows_only_its_own_steps(admin_pages: None) -> None:
    region()
    roster()
    by = organiser()
    the_plan = plan(by=by)
    client = Client()
    client.force_login(by)
    with override("zh-hans"):
        labels = {key: gettext(key) for key in ("Enter beacon", "Draw", "Void the draw", "Publish")}
        labels["Results publication"] = gettext("Results publication")

    assert buttons(client, the_plan.pk)[:-1] == ["锁定"]  # the last is Django's own history link
    sampling_plan_commit(plan=the_plan, user=by)
    assert buttons(client, the_plan.pk)[:-1] == [labels["Enter beacon"], labels["Void the draw"]]
    sampling_plan_enter_beacon(plan=the_plan, user=by, value="2025-01-06 福彩3D 123", source="福彩3D")
    assert buttons(client, the_plan.pk)[:-1] == [labels["Draw"], labels["Void the draw"]]
    sampling_plan_draw(plan=the_plan, user=by)
    assert buttons(client, the_plan.pk)[:-1] == [labels["Publish"], labels["Results publication"]]


def test_a_voided_draw_offers_no_step() -> None:
    region()
    the_plan = plan(by=organiser())
    the_plan.draw = Draw(plan=the_plan, voided_at=timezone.now(), void_reason="窗口已过，无法抽取")
    assert plan_steps(the_plan) == []
