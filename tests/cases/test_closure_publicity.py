"""The optional 公示 of a 销号: the closure is shown publicly for some working days before it is final."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client

from inspections.cases.models import CaseStatus
from inspections.cases.services.status import case_reopen, case_verify
from tests.builders import at, supervisor
from tests.cases.test_workflow import rectified_case

pytestmark = pytest.mark.django_db

PAGE = "/public/zh-hans/closures/"
MONDAY = at(2025, 1, 13, 10)  # Monday 13 January 2025, in China


@pytest.fixture
def admin_pages(settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_without_the_setting_a_closure_is_final_at_once(client: Client) -> None:
    case, _visit = rectified_case()
    closed = case_verify(case=case, actor=supervisor("330523"), note="核对整改照片与说明，符合要求")
    assert closed.status == CaseStatus.CLOSED and closed.publicity_until is None
    assert "暂无" in client.get(PAGE).content.decode()


def test_a_closure_is_shown_for_its_working_days_then_final(
    client: Client, settings: Any, admin_pages: None
) -> None:
    settings.QINGSHAN_CLOSURE_PUBLICITY_WORKING_DAYS = 5
    case, _visit = rectified_case()
    county = supervisor("330523", last_name="王", first_name="销号")
    with time_machine.travel(MONDAY, tick=False):
        closed = case_verify(case=case, actor=county, note="核对整改照片与说明，符合要求")
        assert closed.publicity_until == dt.date(2025, 1, 20)  # five working days on
        page = client.get(PAGE).content.decode()
        assert closed.village.name in page and "2025-01-20" in page and "2025-01-13" in page
        assert "王销号" not in page  # no person is named
        admin = Client()
        admin.force_login(county)
        under = admin.get("/admin/inspections/case/", {"publicity": "current"}).context["cl"]
        assert [c.pk for c in under.result_list] == [case.pk]
        final = admin.get("/admin/inspections/case/", {"publicity": "final"}).context["cl"]
        assert list(final.result_list) == []
    with time_machine.travel(at(2025, 1, 20, 23), tick=False):  # late on the last day, in China
        assert closed.village.name in client.get(PAGE).content.decode()
    with time_machine.travel(at(2025, 1, 21, 0, 30), tick=False):  # just after, in China (16:30 UTC)
        assert closed.village.name not in client.get(PAGE).content.decode()
        final = admin.get("/admin/inspections/case/", {"publicity": "final"}).context["cl"]
        assert [c.pk for c in final.result_list] == [case.pk]


def test_an_objection_upheld_during_the_notice_reopens_the_problem_and_ends_the_notice(
    client: Client, settings: Any
) -> None:
    settings.QINGSHAN_CLOSURE_PUBLICITY_WORKING_DAYS = 5
    case, _visit = rectified_case()
    county = supervisor("330523")
    with time_machine.travel(MONDAY, tick=False):
        closed = case_verify(case=case, actor=county, note="核对整改照片与说明，符合要求")
        reopened = case_reopen(case=closed, actor=county, note="群众反映：污水仍直排")
        assert reopened.status == CaseStatus.REOPENED and reopened.publicity_until is None
        assert closed.village.name not in client.get(PAGE).content.decode()
