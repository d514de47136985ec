"""Failed logins lock the account and the client address (django-axes): admin login and token endpoint.

The address is the client's as config/proxies.py resolves it: a forged
``X-Forwarded-For`` from an untrusted peer changes nothing; behind a trusted
proxy each client is counted on its own.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from inspections.accounts.api_lockout import lockout_message
from inspections.accounts.models import User
from tests.builders import supervisor, user
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

PASSWORD = "the right password"
PROXY = "10.0.0.2"


def account(**fields: Any) -> User:
    created = user(**fields)
    created.set_password(PASSWORD)
    created.save()
    return created


def admin_login(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"}, **extra
    )


def token(username: str, password: str, **extra: Any) -> Any:
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, **extra)


def test_thirty_wrong_admin_passwords_then_the_right_one_does_not_log_in() -> None:
    admin = account(is_staff=True, is_superuser=True)
    client = Client()

    for _ in range(30):
        admin_login(client, admin.username, "wrong")
    response = admin_login(client, admin.username, PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    minutes = settings.AXES_COOLOFF_TIME.total_seconds() // 60
    with translation.override("zh-hans"):
        assert lockout_message(int(minutes * 60)) in response.content.decode()
    assert 0 < int(response["Retry-After"]) <= minutes * 60


def test_the_admin_logs_in_below_the_limit_and_a_success_resets_the_count() -> None:
    admin = account(is_staff=True, is_superuser=True)
    client = Client()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        admin_login(client, admin.username, "wrong")
    response = admin_login(client, admin.username, PASSWORD)

    assert response.status_code == 302 and client.session["_auth_user_id"] == str(admin.pk)


def test_a_forged_forwarded_for_does_not_escape_the_admin_lockout_by_address() -> None:
    admins = [account(is_staff=True, is_superuser=True) for _ in range(settings.AXES_FAILURE_LIMIT + 1)]

    for number, admin in enumerate(admins[:-1]):
        admin_login(Client(), admin.username, "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{number}")
    response = admin_login(Client(), admins[-1].username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.250")

    assert response.status_code == 429


def test_the_token_endpoint_locks_the_account_with_a_problem_document(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    person = account()

    assert_problem(token(person.username, "wrong"), 401, "no_active_account")
    assert_problem(token(person.username, "wrong"), 401, "no_active_account")
    reaching = token(person.username, "wrong")
    refused = token(person.username, PASSWORD, REMOTE_ADDR="192.0.2.7")  # from elsewhere too

    assert_problem(reaching, 429, "account_locked")
    body = assert_problem(refused, 429, "account_locked")
    assert 0 < int(refused["Retry-After"]) <= 15 * 60
    assert body["retry_after"] == int(refused["Retry-After"])
    assert token(account().username, PASSWORD, REMOTE_ADDR="192.0.2.7").status_code == 200


def test_failures_for_many_accounts_from_one_address_lock_the_address(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        token(account().username, "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{_}")  # forged: ignored

    assert_problem(token(account().username, PASSWORD), 429, "account_locked")
    assert token(account().username, PASSWORD, REMOTE_ADDR="192.0.2.7").status_code == 200


def test_behind_a_trusted_proxy_each_client_address_is_counted_on_its_own(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    settings.QINGSHAN_TRUSTED_PROXIES = [PROXY]
    via_proxy = {"REMOTE_ADDR": PROXY}
    for _ in range(3):
        token(account().username, "wrong", HTTP_X_FORWARDED_FOR="198.51.100.1", **via_proxy)

    locked = token(account().username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1", **via_proxy)
    other = token(account().username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.2", **via_proxy)

    assert_problem(locked, 429, "account_locked")
    assert other.status_code == 200


def test_a_locked_supervisor_cannot_log_in_to_the_admin_either(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    boss = supervisor("330523")
    boss.set_password(PASSWORD)
    boss.save()
    for _ in range(3):
        token(boss.username, "wrong", REMOTE_ADDR="192.0.2.8")

    client = Client()
    assert admin_login(client, boss.username, PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
