"""A county and a prefecture supervisor walk the admin in Chinese, in a real browser.

Each logs in through the login form and walks: the workbench (its figures are
there, and each link of their own area's row leads to the admin list showing
the same count), the problem list and a problem's page, an inspection's review
page with its photo, and the public pages. On every page walked the visible
text is scanned for English left untranslated, and a screenshot is taken at a
desktop's width (1280 px) and a phone's (390 px).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from inspections.cases.models import Case, CaseEvent, CaseStatus
from inspections.fieldwork.models import Inspection
from tests.browser.walk import Walk
from tests.builders import (
    ANJI,
    DEQING,
    HUZHOU,
    YUCUN_WGS84,
    camera_jpeg,
    case,
    division,
    inspector,
    photo,
    submitted_inspection,
    supervisor,
    village,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def world() -> dict[str, Any]:
    """Anji's two townships with problems in each, Deqing with one, a submitted visit with a photo."""
    division(HUZHOU, "湖州市")
    division(ANJI, "安吉县")
    division(DEQING, "德清县")
    tianhuangping = division(f"{ANJI}108", "天荒坪镇")
    dixi = division(f"{ANJI}101", "递铺街道")
    yucun = village(f"{tianhuangping.code}204", "余村")
    other = village(f"{dixi.code}201", "递铺村")
    today = timezone.localdate()
    case(yucun.code, opened_at=timezone.now() - dt.timedelta(days=30), deadline=today - dt.timedelta(days=3))
    case(
        yucun.code,
        opened_at=timezone.now() - dt.timedelta(days=20),
        deadline=today - dt.timedelta(days=1),
        escalation_level=1,
    )
    case(other.code, opened_at=timezone.now() - dt.timedelta(days=2), deadline=today + dt.timedelta(days=20))
    case(
        other.code,
        opened_at=timezone.now() - dt.timedelta(days=1),
        deadline=today + dt.timedelta(days=20),
        status=CaseStatus.AWAITING_REVIEW,
    )
    case(f"{DEQING}101201", opened_at=timezone.now() - dt.timedelta(days=9), deadline=today)
    member = inspector()
    visit = submitted_inspection(village_code=yucun.code, team=[member], status=Inspection.Status.IN_PROGRESS)
    photo(inspection=visit, content=camera_jpeg(seed=3, gps=YUCUN_WGS84), by=member)
    Inspection.objects.filter(pk=visit.pk).update(
        status=Inspection.Status.SUBMITTED, submitted_at=timezone.now()
    )
    return {
        "county": supervisor(ANJI, username="sup-anji", first_name="安吉", last_name="督查"),
        "prefecture": supervisor(HUZHOU, username="sup-huzhou", first_name="湖州", last_name="督查"),
        "inspection": visit,
        "problem": Case.objects.filter(village=yucun).order_by("pk").first(),
    }


def walk_workbench(tab: Walk, *, username: str, area: str, area_name: str, other_area: str) -> None:
    tab.login(username)
    text = tab.look("workbench")
    assert area_name in text
    assert tab.page.locator("svg.workbench-chart").count() == 2
    assert tab.page.locator(f'tr[data-area="{other_area}"]').count() == 1
    row = tab.page.locator(f'tr[data-area="{area}"]')
    links = [
        (anchor.get_attribute("href"), int(anchor.inner_text()))
        for anchor in row.locator("a").all()
        if anchor.inner_text().strip().isdigit()
        and "submitted_at__year" not in (anchor.get_attribute("href") or "")
    ]
    assert len(links) >= 9
    assert any(count > 0 for _href, count in links)
    for href, count in links:
        assert tab.listed_count(href) == count, href


def walk_problems(tab: Walk, problem: Case) -> None:
    tab.go("/admin/inspections/case/")
    text = tab.look("problems")
    assert "余村" in text
    assert tab.overflow() == 0  # the list fits 1280 px beside its filters: no sideways scroll
    tab.go("/admin/inspections/inspection/")
    assert tab.overflow() == 0
    tab.go(f"/admin/inspections/case/{problem.pk}/change/")
    text = tab.look("problem")
    assert "余村" in text
    assert tab.page.locator("#problem-evidence").count() == 1
    assert tab.overflow() == 0


def decide_on_the_page(tab: Walk, problem: Case) -> None:
    """Escalate (督办) the overdue problem from its own page, with a note, through the button."""
    tab.go(f"/admin/inspections/case/{problem.pk}/change/")
    before = problem.escalation_level
    tab.page.click("#decision-escalate summary")
    tab.page.fill("#note-escalate", "逾期未整改，县级督办")
    tab.page.click("#decision-escalate input[type=submit]")
    tab.page.wait_for_selector("ul.messagelist li")
    assert tab.page.locator("ul.messagelist li.success").count() == 1, tab.page.inner_text("ul.messagelist")
    tab.look("problem-decided")
    problem.refresh_from_db()
    assert problem.escalation_level == before + 1
    assert problem.events.filter(kind=CaseEvent.Kind.ESCALATED, note="逾期未整改，县级督办").exists()


def walk_flag_queue(tab: Walk) -> None:
    tab.go("/admin/inspections/photo/")
    tab.look("flag-queue")
    assert tab.overflow() == 0


def walk_inspection(tab: Walk, visit: Inspection) -> None:
    tab.go(f"/admin/inspections/inspection/{visit.pk}/change/")
    text = tab.look("inspection")
    assert "余村" in text
    thumbnail = tab.page.locator("img[src*='/photo/']").first
    assert thumbnail.evaluate("image => image.complete && image.naturalWidth > 0")


def walk_public(tab: Walk) -> None:
    tab.go("/public/zh-hans/")
    tab.look("public")


def test_a_county_and_a_prefecture_supervisor_walk_the_admin(
    live_server: Any, browser: Any, screenshots: Path
) -> None:
    made = world()
    found: dict[str, set[str]] = {}
    for who, username, area, area_name, other_area in (
        ("county", "sup-anji", f"{ANJI}108", "天荒坪镇", f"{ANJI}101"),
        ("prefecture", "sup-huzhou", ANJI, "安吉县", DEQING),
    ):
        tab = Walk(browser, live_server.url, who, screenshots)
        try:
            walk_workbench(tab, username=username, area=area, area_name=area_name, other_area=other_area)
            walk_problems(tab, made["problem"])
            if who == "county":
                decide_on_the_page(tab, made["problem"])
            walk_flag_queue(tab)
            walk_inspection(tab, made["inspection"])
            walk_public(tab)
        finally:
            tab.context.close()
        found.update(tab.found)
    assert sorted(screenshots.glob("county-workbench-390.png"))
    assert found == {}, "\n".join(f"{page}: {sorted(words)}" for page, words in found.items())
