"""Tokens end with the password they were issued under, and with the account."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from inspections.accounts.services import user_tokens_revoke
from tests.builders import supervisor, user
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


def refresh(token: str, **extra: Any) -> Any:
    return APIClient().post("/api/v1/auth/token/refresh/", {"refresh": token}, **extra)


def test_a_refresh_rotates_the_refresh_token_and_a_reused_one_is_refused() -> None:
    account = supervisor("330523")
    first = str(RefreshToken.for_user(account))

    rotated = refresh(first)
    assert rotated.status_code == 200
    second = rotated.json()["refresh"]
    assert second != first

    assert_problem(refresh(first), 401, "token_not_valid")
    # the reuse shows a copy exists: the rotated token dies with it
    assert_problem(refresh(second), 401, "token_not_valid")
    assert refresh(str(RefreshToken.for_user(account))).status_code == 200


def test_refreshes_are_counted_per_account_not_per_shared_address() -> None:
    accounts = [supervisor("330523") for _ in range(8)]
    tokens = {person.pk: str(RefreshToken.for_user(person)) for person in accounts}

    for _round in range(2):  # 16 refreshes from one carrier NAT address
        for person in accounts:
            response = refresh(tokens[person.pk], REMOTE_ADDR="198.51.100.77")
            assert response.status_code == 200, response.content
            tokens[person.pk] = response.json()["refresh"]


def test_one_account_refreshing_too_often_is_throttled() -> None:
    account = supervisor("330523")
    current = str(RefreshToken.for_user(account))
    for _ in range(10):
        response = refresh(current)
        assert response.status_code == 200
        current = response.json()["refresh"]

    assert_problem(refresh(current), 429, "throttled")
    other = supervisor("330523")
    assert refresh(str(RefreshToken.for_user(other))).status_code == 200


def test_deactivation_in_the_admin_blacklists_the_refresh_tokens_even_after_reactivation() -> None:
    account = supervisor("330523")
    tokens = login_as(account)
    boss = user(is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(boss)
    page = client.get(f"/admin/inspections/user/{account.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(
        {
            "groups": [group.pk for group in account.groups.all()],
            "user_permissions": [],
            "jurisdiction": account.jurisdiction_id,
            "date_joined_0": account.date_joined.date().isoformat(),
            "date_joined_1": "00:00:00",
        }
    )
    data.pop("is_active", None)  # unticked
    data.pop("last_login", None)

    response = client.post(f"/admin/inspections/user/{account.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    account.refresh_from_db()
    assert account.is_active is False

    account.is_active = True
    account.save(update_fields=["is_active"])
    assert_problem(refresh(tokens["refresh"]), 401, "token_not_valid")
    assert account.tokens_revoked_at is not None


def issued_before(token: Any, revoked_at: Any) -> str:
    """The token as if issued a minute before the revocation (``iat`` has whole seconds)."""
    token.set_iat(at_time=revoked_at - dt.timedelta(minutes=1))
    return str(token)


def test_tokens_issued_before_a_revocation_stay_refused_after_reactivation() -> None:
    account = supervisor("330523")
    user_tokens_revoke(user=account)  # deactivation calls it; the account stays active here
    revoked_at = account.tokens_revoked_at
    assert revoked_at is not None
    old = RefreshToken.for_user(account)
    old_access = issued_before(old.access_token, revoked_at)
    old_refresh = issued_before(old, revoked_at)

    assert_problem(me(old_access), 401, "token_revoked")  # type: ignore[arg-type]
    assert_problem(refresh(old_refresh), 401, "token_revoked")
    fresh = login_as(account)  # issued after: accepted
    assert me(fresh["access"]).status_code == 200  # type: ignore[attr-defined]
    assert refresh(fresh["refresh"]).status_code == 200


def login_as(account: Any) -> dict[str, str]:
    account.set_password(PASSWORD)
    account.save()
    return login(account.username, PASSWORD)


def test_the_daily_purge_deletes_only_lapsed_tokens_and_login_failures(client: Client) -> None:
    from axes.models import AccessAttempt
    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    from inspections.accounts.tasks import purge_expired

    account = supervisor("3305", username="purged")
    RefreshToken.for_user(account)  # a live refresh token
    lapsed = RefreshToken.for_user(account)
    OutstandingToken.objects.filter(jti=lapsed["jti"]).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    client.post("/admin/login/", {"username": "purged", "password": "wrong"})
    client.post("/admin/login/", {"username": "someone-else", "password": "wrong"})
    AccessAttempt.objects.filter(username="someone-else").update(
        attempt_time=timezone.now() - dt.timedelta(days=1)
    )

    assert purge_expired.apply().get() == {"tokens": 1, "login_failures": 1}
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) != [lapsed["jti"]]
    assert OutstandingToken.objects.count() == 1
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["purged"]
    assert purge_expired.apply().get() == {"tokens": 0, "login_failures": 0}
