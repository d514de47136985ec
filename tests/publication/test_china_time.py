"""Public pages and the public API give days in China time, whatever the server's zone.

A visit submitted at 06:30 on 2 December in China is 22:30 UTC on 1 December: the
public sees 2 December, on every page and in every date field.
"""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.test import Client

from inspections.publication import services as publication_services
from inspections.publication.models import TypicalCase
from inspections.sampling.services import sampling_plan_commit, sampling_plan_draw
from tests.builders import at, open_case, plan, region, roster, supervisor
from tests.publication.test_draws import submit

pytestmark = pytest.mark.django_db

EARLY = at(2026, 12, 2, 6, 30)  # 2026-12-01 22:30 UTC


@pytest.fixture(params=["Asia/Shanghai", "UTC"])
def server_zone(request: Any, settings: Any) -> str:
    settings.TIME_ZONE = request.param
    return str(request.param)


@pytest.mark.usefixtures("server_zone")
def test_a_visit_submitted_early_in_the_morning_in_china_shows_its_china_day() -> None:
    boss = supervisor("3305")
    with time_machine.travel(at(2026, 12, 3, 10), tick=False):
        case = open_case(submitted_at=EARLY, now=EARLY)
        TypicalCase.objects.create(case=case, title_zh_hans="村口垃圾", summary_zh_hans="已责令整改。")
        publication_services.typical_case_publish(case=case, actor=boss)
        results = publication_services.publication_create(
            title_zh_hans="十二月结果", inspections=[case.inspection]
        )
        publication_services.publication_publish(publication=results, actor=boss)
        client = Client()

        result = client.get(f"/api/v1/public/results/{results.pk}/").json()
        listing = client.get("/api/v1/public/results/").json()["results"][0]
        typical = client.get(f"/api/v1/public/typical-cases/{case.typical.pk}/").json()
        pages = [
            client.get(f"/public/{lang}/{path}").content.decode()
            for lang in ("zh-hans", "en")
            for path in ("", f"results/{results.pk}/", f"cases/{case.typical.pk}/")
        ]

    assert result["inspections"][0]["visited_on"] == "2026-12-02"
    assert typical["opened_on"] == "2026-12-02"
    for moment in (result["published_at"], listing["published_at"], typical["published_at"]):
        assert moment.startswith("2026-12-03T10:00:00") and moment.endswith("+08:00")
    for page in pages:
        assert "2026-12-01" not in page
    assert "2026-12-02" in pages[1] and "2026-12-02" in pages[2]  # visited on; found on
    assert "2026-12-03" in pages[0]  # published on


@pytest.mark.usefixtures("server_zone")
def test_the_public_record_of_a_draw_gives_its_moments_in_china_time() -> None:
    region()
    roster()
    the_plan = plan()
    sampling_plan_commit(plan=the_plan, user=the_plan.created_by)
    draw = sampling_plan_draw(plan=the_plan, user=the_plan.created_by)
    publication = publication_services.publication_create_for_draw(draw=draw)
    submit(publication.inspections.all())
    publication_services.publication_publish(publication=publication, actor=the_plan.created_by)

    record = Client().get(f"/api/v1/public/draws/{draw.pk}/").json()

    for field in ("committed_at", "drawn_at", "published_at"):
        assert record[field].endswith("+08:00"), (field, record[field])
    assert record["plan"]["window_start"].endswith("+08:00")
