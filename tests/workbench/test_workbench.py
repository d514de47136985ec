"""The admin's first page: a supervisor's workbench of their jurisdiction, area by area."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from inspections.cases.models import Case, CaseNotification, CaseStatus, Rectification
from inspections.complaints.models import Complaint
from inspections.fieldwork.models import Inspection
from inspections.workbench.selectors import workbench_build
from tests.builders import (
    ANJI,
    DEQING,
    HUZHOU,
    at,
    case,
    division,
    inspection,
    plan,
    supervisor,
    user,
    village,
)

pytestmark = pytest.mark.django_db

NOW = at(2025, 6, 16, 10)  # a Monday
TODAY = dt.date(2025, 6, 16)
TIANHUANGPING = f"{ANJI}108"  # a township of Anji
DIXI = f"{ANJI}101"  # another


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def _complaint(village_code: str | None, *, replied: bool = False, ticket: str = "1") -> Complaint:
    return Complaint.objects.create(
        source=Complaint.Source.HOTLINE_12369,
        ticket_number=f"{ticket}-{Complaint.objects.count()}",
        received_at=NOW - dt.timedelta(days=2),
        content="河道发黑",
        village=village(village_code) if village_code else None,
        reply_due=TODAY + dt.timedelta(days=5),
        replied_at=NOW if replied else None,
        reply="已核查处理" if replied else "",
        recorded_by=user(),
    )


def anji_world(scale: int = 1) -> None:
    """Problems, visits and complaints in two of Anji's townships and one village of Deqing (outside)."""
    division(TIANHUANGPING, "天荒坪镇")
    division(DIXI, "递铺街道")
    for n in range(scale):
        yucun = f"{TIANHUANGPING}{200 + n:03d}"
        other = f"{DIXI}{200 + n:03d}"
        # overdue and escalated; overdue only; due on Friday (within five working days)
        case(yucun, opened_at=at(2025, 5, 1, 9), deadline=dt.date(2025, 6, 10), escalation_level=1)
        case(yucun, opened_at=at(2025, 5, 2, 9), deadline=dt.date(2025, 6, 12), status=CaseStatus.RECTIFYING)
        case(other, opened_at=at(2025, 6, 2, 9), deadline=dt.date(2025, 6, 20))
        # a finding awaiting review (not a confirmed problem)
        case(
            other,
            opened_at=at(2025, 6, 15, 9),
            deadline=dt.date(2025, 6, 30),
            status=CaseStatus.AWAITING_REVIEW,
        )
        # closed: one rectified on time, one relapsed and reopened
        on_time = case(
            other,
            opened_at=at(2025, 3, 1, 9),
            deadline=dt.date(2025, 3, 14),
            status=CaseStatus.CLOSED,
            closed_at=at(2025, 3, 20, 9),
        )
        rectified = Rectification.objects.create(case=on_time, submitted_by=user(), description="已清理")
        Rectification.objects.filter(pk=rectified.pk).update(created_at=at(2025, 3, 13, 15))
        relapsed = case(
            other, opened_at=at(2025, 2, 1, 9), deadline=dt.date(2025, 2, 14), status=CaseStatus.REOPENED
        )
        type(relapsed).objects.filter(pk=relapsed.pk).update(is_relapse=True, deadline=dt.date(2025, 7, 1))
        # the outside world: Deqing's problems never count for Anji
        case(f"{DEQING}101{200 + n:03d}", opened_at=at(2025, 5, 1, 9), deadline=dt.date(2025, 6, 1))
        _complaint(yucun, ticket=f"a{n}")
        _complaint(other, replied=True, ticket=f"b{n}")
        # an inspection still to come: never counted anywhere (the embargo)
        inspection(village=f"{TIANHUANGPING}{300 + n:03d}", window_start=NOW + dt.timedelta(days=2))


def _figures(prefix_user: Any) -> Any:
    bench = workbench_build(user=prefix_user, now=NOW)
    assert bench is not None
    return bench


def test_it_counts_a_countys_problems_by_township() -> None:
    anji_world()
    bench = _figures(supervisor(ANJI))

    by_code = {area.code: area for area in bench.areas}
    assert set(by_code) >= {TIANHUANGPING, DIXI}
    assert all(len(code) == 9 for code in by_code)
    tianhuangping, dixi = by_code[TIANHUANGPING], by_code[DIXI]
    assert tianhuangping.name == "天荒坪镇"
    assert (tianhuangping.open, tianhuangping.overdue, tianhuangping.escalated) == (2, 2, 1)
    assert (dixi.open, dixi.overdue, dixi.due_soon, dixi.awaiting_review) == (2, 0, 1, 1)
    # due this year before today: Dixi's closed case (rectified on 13 March, due 14 March);
    # the relapsed one's deadline was moved to July
    assert (dixi.due_this_year, dixi.on_time, dixi.on_time_rate) == (1, 1, 1.0)
    assert (tianhuangping.due_this_year, tianhuangping.on_time) == (2, 0)
    assert (dixi.relapsed, dixi.closed_or_relapsed, dixi.relapse_rate) == (1, 2, 0.5)
    assert (tianhuangping.complaints_awaiting, dixi.complaints_awaiting) == (1, 0)
    assert bench.total.open == 4
    assert bench.total.overdue == 2
    assert bench.due_until == dt.date(2025, 6, 23)


def test_coverage_counts_villages_with_a_visit_submitted_this_year() -> None:
    anji_world()
    # every case's visit was submitted this year: one village of each township
    bench = _figures(supervisor(ANJI))
    by_code = {area.code: area for area in bench.areas}
    assert by_code[TIANHUANGPING].villages_inspected == 1
    # two villages in Tianhuangping: Yucun's and the one whose visit is still to come
    assert by_code[TIANHUANGPING].villages == 2
    assert by_code[TIANHUANGPING].coverage == 0.5
    # last year's visit does not count
    inspection(
        village=f"{TIANHUANGPING}300",
        status=Inspection.Status.SUBMITTED,
        window_start=at(2024, 12, 1, 9),
        submitted_at=at(2024, 12, 1, 12),
    )
    assert {a.code: a for a in _figures(supervisor(ANJI)).areas}[TIANHUANGPING].villages_inspected == 1


def test_active_villages_are_counted_by_area_at_every_level_and_a_deactivated_one_leaves() -> None:
    for code in (f"{TIANHUANGPING}204", f"{TIANHUANGPING}205", f"{DIXI}201", f"{DEQING}100201"):
        village(code)
    gone = village(f"{DIXI}202")
    gone.is_active = False
    gone.save()

    def villages(reader: Any) -> dict[str, int]:
        return {a.code: a.villages for a in _figures(reader).areas}

    assert villages(user(is_superuser=True)) == {"33": 4}
    assert villages(supervisor(HUZHOU)) == {ANJI: 3, DEQING: 1}
    assert villages(supervisor(ANJI)) == {DIXI: 1, TIANHUANGPING: 2}
    # a township's areas are its villages, counted over them
    assert villages(supervisor(DIXI)) == {f"{DIXI}201": 1, f"{DIXI}202": 0}

    gone.is_active = True
    gone.save()
    assert villages(supervisor(ANJI))[DIXI] == 2
    assert _figures(supervisor(ANJI)).total.villages == 4


def test_a_prefecture_sees_its_counties_and_the_country_its_provinces() -> None:
    anji_world()
    bench = _figures(supervisor(HUZHOU))
    by_code = {area.code: area for area in bench.areas}
    assert by_code[ANJI].open == 4
    assert by_code[DEQING].open == 1
    assert bench.total.open == 5

    national = _figures(user(is_superuser=True, is_staff=True))
    assert [area.code for area in national.areas] == ["33"]
    assert national.total.open == 5


def test_an_account_without_a_jurisdiction_has_no_workbench() -> None:
    assert workbench_build(user=user(is_staff=True), now=NOW) is None


def test_upcoming_windows_are_only_of_the_plans_the_reader_organises() -> None:
    reader = supervisor(HUZHOU)
    other = supervisor(HUZHOU)
    mine = plan(by=reader, name="本人组织的抽查")
    plan(by=other, name="别人的抽查")
    plan(
        by=reader,
        name="已结束",
        window_start=NOW - dt.timedelta(days=9),
        window_end=NOW - dt.timedelta(days=2),
    )

    bench = _figures(reader)

    assert [p.pk for p in bench.upcoming] == [mine.pk]
    assert _figures(other).upcoming[0].name == "别人的抽查"
    assert _figures(supervisor(ANJI)).upcoming == []


def test_it_shows_the_readers_unread_notifications() -> None:
    anji_world()
    reader = supervisor(ANJI)
    assert _figures(reader).notices == []
    problem = Case.objects.get(escalation_level=1, village__code__startswith=ANJI)
    CaseNotification.objects.create(recipient=reader, case=problem, kind="escalated", level=1, created_at=NOW)
    CaseNotification.objects.create(
        recipient=supervisor(ANJI), case=problem, kind="escalated", level=1, created_at=NOW
    )
    bench = _figures(reader)
    assert [(n.case_id, n.level) for n in bench.notices] == [(problem.pk, 1)]
    assert bench.unread_notices == 1


# --- The page --------------------------------------------------------------------------------


def _page(reader: Any) -> str:
    client = Client()
    client.force_login(reader)
    response = client.get("/admin/")
    assert response.status_code == 200
    # the logout form's CSRF token is masked afresh on every page
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


LINK = re.compile(r'<a href="(?P<href>/admin/[^"]+)"(?: title="[^"]*")?>(?P<count>\d+)</a>')


def test_the_first_page_is_the_workbench_with_the_app_list_below() -> None:
    anji_world()
    page = _page(supervisor(ANJI))
    assert 'id="workbench-table"' in page
    assert "天荒坪镇" in page
    # the charts are inline SVG with their figures written as text
    assert page.count('<svg class="workbench-chart"') == 2
    assert "<title>" in page.split('<svg class="workbench-chart"')[1]
    # the app list is still there, below
    assert page.index('id="workbench-table"') < page.index('id="workbench-apps"')
    assert "/admin/inspections/case/" in page


def test_every_figure_links_to_a_list_showing_the_same_count() -> None:
    anji_world(scale=2)
    reader = supervisor(ANJI)
    page = _page(reader)
    client = Client()
    client.force_login(reader)
    checked = 0
    for row in re.finditer(
        r'<tr (?:class="total" )?data-area="(?P<area>[^"]+)">(?P<body>.*?)</tr>', page, re.S
    ):
        for link in LINK.finditer(row["body"]):
            href = html.unescape(link["href"])
            response = client.get(href)
            assert response.status_code == 200, href
            changelist = response.context["cl"]
            expected = int(link["count"])
            if "submitted_at__year" in href:
                # the coverage's villages link to their inspections: one each here
                expected = changelist.result_count
                assert changelist.result_count >= int(link["count"])
            assert changelist.result_count == expected, href
            checked += 1
    assert checked > 30


def test_the_page_costs_the_same_queries_for_a_small_and_a_large_county(
    django_assert_max_num_queries: Any,
) -> None:
    # 19: the session and the user; the reader's division; the holiday years; the areas;
    # the inspector profile (case_list asks); problems, visits, villages and complaints by
    # area; unreviewed photos whose flags name others; inspections and after-photos with
    # flags by area; the plans the reader organises; their visits to come; their unread
    # notifications; the user's and the groups' permissions (the app list)
    reader = supervisor(ANJI)
    anji_world(scale=1)
    client = Client()
    client.force_login(reader)
    client.get("/admin/")  # warm the content types and permission caches
    with django_assert_max_num_queries(19) as small:
        client.get("/admin/")
    anji_world(scale=6)
    with django_assert_max_num_queries(19) as large:
        client.get("/admin/")
    assert len(large.captured_queries) == len(small.captured_queries)


def test_the_figures_never_count_a_visit_still_to_come() -> None:
    reader = supervisor(ANJI)
    anji_world()
    before = _page(reader)
    inspection(village=f"{TIANHUANGPING}200", window_start=timezone.now() + dt.timedelta(days=1))
    inspection(village=f"{DIXI}200", status=Inspection.Status.IN_PROGRESS)
    assert _page(reader) == before


def test_a_superuser_sees_the_country_by_province_and_its_links_hold() -> None:
    anji_world()
    admin = user(is_superuser=True, is_staff=True)
    page = _page(admin)
    assert 'data-area="33"' in page
    client = Client()
    client.force_login(admin)
    total = re.search(r'<tr class="total" data-area="total">(?P<body>.*?)</tr>', page, re.S)
    assert total is not None
    first = LINK.search(total["body"])
    assert first is not None and "division=" not in first["href"]
    response = client.get(html.unescape(first["href"]))
    assert response.context["cl"].result_count == int(first["count"]) == 5
