"""In a real browser: a prefecture supervisor takes a sampling plan from draft to draw and
reassigns a visit; a county and a prefecture supervisor download an export of each kind and
open the digest preview.

The plan is made through the add form (the scope picked in the autocomplete, the window in
the split date and time fields), locked (锁定), given its beacon, drawn, and one drawn
visit's team changed with a written reason: each step through the page's own buttons, each
page scanned for untranslated text and photographed at 1280 and 390 px.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.utils import timezone

from inspections.accounts.models import Inspector
from inspections.cases.models import Case, CaseStatus
from inspections.cases.services.review import case_confirm, is_handed_over
from inspections.sampling.models import Assignment, Draw, Reassignment, SamplingPlan
from tests.browser.walk import Walk
from tests.builders import (
    ANJI,
    HUZHOU,
    case,
    division,
    region,
    roster,
    supervisor,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def plan_world() -> dict[str, Any]:
    """Huzhou's sampling region and its roster; problems in Anji, one of them handed over."""
    division(HUZHOU, "湖州市")
    division(ANJI, "安吉县")
    region()
    roster(per_county=3)
    today = timezone.localdate()
    problem = case(
        f"{ANJI}101201",
        opened_at=timezone.now() - dt.timedelta(days=6),
        deadline=today,
        status=CaseStatus.AWAITING_REVIEW,
    )
    return {
        "county": supervisor(
            ANJI, username="sup-anji", first_name="安吉", last_name="督查", email="a@example.cn"
        ),
        "prefecture": supervisor(
            HUZHOU, username="sup-huzhou", first_name="湖州", last_name="督查", email="h@example.cn"
        ),
        "problem": problem,
    }


def confirm(tab: Walk, step: str, name: str) -> str:
    """Click the plan page's button ``step``, look at the step's page, confirm; the message."""
    tab.page.click(f"ul.object-tools a:text-is('{step}')")
    tab.look(name)
    tab.page.click("form input[type=submit]")
    tab.page.wait_for_selector("ul.messagelist li")
    message = tab.page.inner_text("ul.messagelist")
    assert tab.page.locator("ul.messagelist li.error").count() == 0, message
    return message


def walk_plan(tab: Walk) -> SamplingPlan:
    tab.go("/admin/inspections/samplingplan/add/")
    tab.look("plan-add")
    tab.page.fill("#id_name", "2026年第一批双随机抽查")
    tab.page.click(".field-scope .select2-selection")
    tab.page.fill(".select2-search__field", "湖州")
    tab.page.click(".select2-results__option:has-text('湖州市')")
    start = timezone.localtime() + dt.timedelta(days=3)
    for field, moment in (("window_start", start), ("window_end", start + dt.timedelta(days=5))):
        tab.page.fill(f"#id_{field}_0", f"{moment:%Y-%m-%d}")
        tab.page.fill(f"#id_{field}_1", "09:00:00")
    tab.page.fill("#id_sample_size", "3")
    tab.page.click("input[name=_continue]")
    tab.page.wait_for_selector("ul.messagelist li.success")
    plan = SamplingPlan.objects.get(name="2026年第一批双随机抽查")
    assert plan.organisers.filter(username="sup-huzhou").exists()  # its creator organises it
    text = tab.look("plan-draft")
    assert "锁定" in text

    confirm(tab, "锁定", "plan-commit")
    assert Draw.objects.get(plan=plan).status == Draw.Status.COMMITTED
    tab.page.click("ul.object-tools a >> nth=0")  # the beacon, the state's first step
    tab.look("plan-beacon")
    tab.page.fill("#id_value", "2026-12-01 福彩3D 123")
    tab.page.fill("#id_source", "中国福利彩票官网")
    tab.page.click("form input[type=submit]")
    tab.page.wait_for_selector("ul.messagelist li.success")
    tab.page.click("ul.object-tools a >> nth=0")  # now the draw
    tab.look("plan-draw")
    tab.page.click("form input[type=submit]")
    tab.page.wait_for_selector("ul.messagelist li.success")
    assert Draw.objects.get(plan=plan).status == Draw.Status.DRAWN
    text = tab.look("plan-drawn")
    assert tab.overflow() == 0

    assignment = Assignment.objects.filter(draw__plan=plan).order_by("pk").first()
    assert assignment is not None
    before = set(assignment.inspection.team.values_list("pk", flat=True))
    tab.page.click(f"a[href$='/assignment/{assignment.pk}/reassign/']")
    text = tab.look("plan-reassign")
    assert assignment.inspection.village.name in text
    # Keep one member, replace the other by an inspector from another county (recusal: the
    # village's own county is left out).
    county = assignment.inspection.village.code[:6]
    newcomer = (
        Inspector.objects.exclude(pk__in=before)
        .exclude(home_division__code__startswith=county)
        .order_by("pk")
        .first()
    )
    assert newcomer is not None
    team = [str(min(before)), str(newcomer.pk)]
    if tab.page.locator("select[name=team]").count():
        tab.page.select_option("select[name=team]", team)
    else:
        for box in tab.page.locator("input[name=team]").all():
            box.set_checked(box.get_attribute("value") in team)
    tab.page.fill("textarea[name=reason]", "原组员因病无法出行，改派同县外检查员")
    tab.page.click("form input[type=submit]")
    tab.page.wait_for_selector("ul.messagelist li")
    assert tab.page.locator("ul.messagelist li.error").count() == 0, tab.page.inner_text("ul.messagelist")
    after = set(assignment.inspection.team.values_list("pk", flat=True))
    assert after == {int(pk) for pk in team}
    assert Reassignment.objects.filter(assignment=assignment, reason__contains="因病").exists()
    tab.look("plan-reassigned")
    return plan


def walk_exports(tab: Walk, problem: Case) -> None:
    """The 问题台账 (XLSX) of the list as filtered; the 交办单 and 问题整改单 (PDF) of a problem."""
    tab.go("/admin/inspections/case/?o=1")
    with tab.page.expect_download() as ledger:
        tab.page.click("ul.object-tools a[href*='/case/export/']")
    body = Path(ledger.value.path()).read_bytes()
    sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    rows = [[str(value) for value in row if value is not None] for row in sheet.iter_rows(values_only=True)]
    assert any("问题" in header for header in rows[0]), rows[0]
    assert any(problem.village.name in " ".join(row) for row in rows[1:]), rows

    assert is_handed_over(problem)
    tab.go(f"/admin/inspections/case/{problem.pk}/change/")
    tab.look("problem-exports")
    sheets = tab.page.locator("a[href*='handover-sheet'], a[href*='rectification-sheet']").all()
    assert len(sheets) == 2  # the 交办单 and the 问题整改单
    for link in sheets:
        with tab.page.expect_download() as sheet:
            link.click()
        assert Path(sheet.value.path()).read_bytes()[:5] == b"%PDF-", link.get_attribute("href")


def walk_coverage(tab: Walk) -> None:
    """A prefecture's coverage of the year is by county; a county's row leads to its townships."""
    tab.go("/admin/inspections/samplingplan/coverage/")
    text = tab.look("coverage")
    assert "安吉县" in text
    tab.page.click(f"a[href^='?area={ANJI}']")
    tab.page.wait_for_url(f"**area={ANJI}**")
    tab.look("coverage-county")
    assert tab.page.locator("a[href^='?area=']").count() == 0  # townships: the last level


def walk_digest_preview(tab: Walk, name: str) -> None:
    tab.go("/admin/inspections/digestsend/preview/")
    tab.look("digest-preview-form")
    value = tab.page.locator("#id_recipient option", has_text=name).first.get_attribute("value")
    tab.page.select_option("#id_recipient", value)
    tab.page.click("#content form input[type=submit]")
    tab.page.wait_for_selector("iframe")
    text = tab.look("digest-preview")
    assert "主题" in text
    frame = tab.page.frame_locator("iframe").locator("body")
    assert frame.inner_text().strip()  # the email's HTML renders inside the frame


def test_a_plan_from_draft_to_draw_and_reassignment_exports_and_the_digest_preview(
    live_server: Any, browser: Any, screenshots: Path
) -> None:
    made = plan_world()
    problem: Case = made["problem"]
    case_confirm(case=problem, actor=made["county"], note="交办安吉县")
    problem.refresh_from_db()
    found: dict[str, set[str]] = {}
    prefecture = Walk(browser, live_server.url, "prefecture", screenshots)
    try:
        prefecture.login("sup-huzhou")
        walk_plan(prefecture)
        walk_coverage(prefecture)
        walk_exports(prefecture, problem)
        walk_digest_preview(prefecture, "督查湖州")
    finally:
        prefecture.context.close()
    found.update(prefecture.found)
    county = Walk(browser, live_server.url, "county", screenshots)
    try:
        county.login("sup-anji")
        walk_exports(county, problem)
        walk_digest_preview(county, "督查安吉")
    finally:
        county.context.close()
    found.update(county.found)
    assert sorted(screenshots.glob("prefecture-plan-reassigned-390.png"))
    assert found == {}, "\n".join(f"{page}: {sorted(words)}" for page, words in found.items())
