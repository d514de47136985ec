"""Supervisors see their jurisdiction's subtree in the admin, and nothing else."""

from __future__ import annotations

import pytest
from django.test import Client

from inspections.accounts.roles import sync_role_groups
from tests.builders import inspector, supervisor, village
from villages.models import Village

pytestmark = pytest.mark.django_db


@pytest.fixture
def anji_and_deqing() -> tuple[Village, Village]:
    sync_role_groups()
    return village("330523108204", "余村村委会"), village("330521101201", "德清某村村委会")


def admin_client(jurisdiction: str) -> Client:
    client = Client()
    client.force_login(supervisor(jurisdiction))
    return client


def test_the_admin_login_page_is_in_chinese_by_default() -> None:
    page = Client().get("/admin/login/").content.decode()

    assert "登录" in page


def test_the_admin_speaks_english_when_the_browser_asks() -> None:
    page = Client().get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Log in" in page


def test_a_county_supervisor_lists_only_villages_of_the_county(anji_and_deqing) -> None:  # type: ignore[no-untyped-def]
    page = admin_client("330523").get("/admin/villages/village/").content.decode()

    assert "余村村委会" in page
    assert "德清某村村委会" not in page


def test_search_cannot_reach_outside_the_jurisdiction(anji_and_deqing) -> None:  # type: ignore[no-untyped-def]
    page = admin_client("330523").get("/admin/villages/village/", {"q": "330521"}).content.decode()

    assert "德清某村村委会" not in page


def test_a_village_outside_the_jurisdiction_cannot_be_opened(anji_and_deqing) -> None:  # type: ignore[no-untyped-def]
    _anji, deqing = anji_and_deqing
    client = admin_client("330523")

    response = client.get(f"/admin/villages/village/{deqing.pk}/change/")

    # the admin redirects to its index with "doesn't exist" for objects outside the queryset
    assert response.status_code == 302
    assert client.get(f"/admin/villages/village/{_anji.pk}/change/").status_code == 200


def test_a_supervisor_can_edit_a_village_in_scope_but_not_its_code(anji_and_deqing) -> None:  # type: ignore[no-untyped-def]
    anji, _ = anji_and_deqing
    page = admin_client("330523").get(f"/admin/villages/village/{anji.pk}/change/").content.decode()

    assert 'name="name"' in page
    assert 'name="code"' not in page


def test_divisions_are_scoped_too(anji_and_deqing) -> None:  # type: ignore[no-untyped-def]
    page = admin_client("330523").get("/admin/villages/division/").content.decode()

    assert "330523108" in page
    assert "330521" not in page


def test_inspectors_are_listed_by_home_division_within_scope(anji_and_deqing) -> None:  # type: ignore[no-untyped-def]
    from tests.builders import division

    inspector(credential_number="ZJ-ANJI", home_division=division("330523"))
    inspector(credential_number="ZJ-DEQING", home_division=division("330521"))

    page = admin_client("330523").get("/admin/inspections/inspector/").content.decode()

    assert "ZJ-ANJI" in page
    assert "ZJ-DEQING" not in page


def test_an_inspector_cannot_use_the_admin(anji_and_deqing) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(inspector().user)

    assert client.get("/admin/villages/village/").status_code == 302


def test_a_supervisor_account_needs_a_jurisdiction() -> None:
    from django.contrib.auth.models import Group

    from tests.builders import user

    sync_role_groups()
    client = Client()
    client.force_login(user(is_superuser=True, is_staff=True))
    target = user(username="newcomer")

    response = client.post(
        f"/admin/inspections/user/{target.pk}/change/",
        {
            "username": "newcomer",
            "groups": [Group.objects.get(name="supervisor").pk],
            "language": "zh-hans",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "08:00:00",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "Supervisors and responsible parties need a jurisdiction." in response.content.decode()
