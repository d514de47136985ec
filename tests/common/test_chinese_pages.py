"""What a supervisor reads around the pages themselves is Chinese: errors, hidden captions, widgets, names."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.builders import ANJI, supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_pages(settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_a_missing_page_is_explained_in_chinese_with_a_way_back(client: Client) -> None:
    page = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 404
    content = page.content.decode()
    assert "页面不存在" in content and 'href="/admin/"' in content and 'href="/public/"' in content
    assert "Not Found" not in content


def test_the_api_still_answers_a_problem_document(client: Client) -> None:
    page = client.get("/api/v1/no-such-resource/")
    assert page.status_code == 404 and page["Content-Type"].startswith("application/problem+json")


def test_the_admin_greets_by_name_and_captions_its_tables_in_chinese(
    client: Client, admin_pages: None
) -> None:
    person = supervisor(ANJI, username="sup-anji", last_name="王", first_name="建国")
    client.force_login(person)
    content = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "王建国" in content and "sup-anji" not in content
    assert "模型名称" in content and "Model name" not in content
    assert 'href="/public/"' in content  # 查看站点 leads to the published results


def test_a_person_without_a_name_is_shown_by_username() -> None:
    person = supervisor(ANJI, username="sup-anji", last_name="", first_name="")
    assert str(person) == "sup-anji"
    assert str(supervisor(ANJI, username="x", first_name="Li", last_name="Wei")) == "Li Wei"


def test_the_admin_widgets_speak_chinese(client: Client, admin_pages: None) -> None:
    client.force_login(supervisor(ANJI))
    catalogue = client.get("/admin/jsi18n/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "\\u9009\\u62e9\\u5168\\u90e8" in catalogue or "选择全部" in catalogue  # "Choose all %s"


def test_moments_are_shown_in_china_time_to_the_minute() -> None:
    import datetime as dt

    from inspections.common.china_time import display

    moment = dt.datetime(2026, 12, 1, 22, 30, 15, 123456, tzinfo=dt.UTC)
    assert display(moment) == "2026-12-02 06:30"
    assert display(None) == "—"
