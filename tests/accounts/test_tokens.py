"""Tokens end with the password they were issued under, and with the account."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.builders import supervisor
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

PASSWORD = "an old password"


def login(username: str, password: str) -> dict[str, str]:
    response = APIClient().post("/api/v1/auth/token/", {"username": username, "password": password})
    assert response.status_code == 200, response.content
    tokens: dict[str, str] = response.json()
    return tokens


def me(access: str) -> object:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/v1/me/")


def test_a_password_change_revokes_the_access_and_refresh_tokens_issued_before_it() -> None:
    account = supervisor("330523")
    account.set_password(PASSWORD)
    account.save()
    before = login(account.username, PASSWORD)
    assert me(before["access"]).status_code == 200  # type: ignore[attr-defined]

    account.set_password("a new password")  # as the admin's reset and the password form do
    account.save()

    assert_problem(me(before["access"]), 401, "password_changed")
    refreshed = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": before["refresh"]})
    assert_problem(refreshed, 401, "password_changed")
    after = login(account.username, "a new password")
    assert me(after["access"]).status_code == 200  # type: ignore[attr-defined]
    fresh = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": after["refresh"]})
    assert fresh.status_code == 200 and me(fresh.json()["access"]).status_code == 200  # type: ignore[attr-defined]


def test_a_deactivated_account_loses_its_tokens() -> None:
    account = supervisor("330523")
    account.set_password(PASSWORD)
    account.save()
    tokens = login(account.username, PASSWORD)

    account.is_active = False
    account.save(update_fields=["is_active"])

    assert me(tokens["access"]).status_code == 401  # type: ignore[attr-defined]
    refreshed = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 401
