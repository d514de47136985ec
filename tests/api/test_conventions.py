"""Errors are problem documents everywhere; auth, throttling and `me/`."""

from __future__ import annotations

import pytest

from tests.builders import inspector, supervisor, user
from tests.conftest import assert_problem, client_for

pytestmark = pytest.mark.django_db


def test_an_unknown_api_route_is_a_404_problem_not_a_page(api) -> None:  # type: ignore[no-untyped-def]
    response = api.get("/api/v1/no-such-thing/")

    body = assert_problem(response, 404, "not_found")
    assert body["instance"] == "/api/v1/no-such-thing/"


def test_an_unknown_method_is_a_405_problem() -> None:
    response = client_for(supervisor("33")).delete("/api/v1/villages/")

    assert_problem(response, 405, "method_not_allowed")


def test_malformed_json_is_a_400_parse_error(api) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/api/v1/auth/token/", data="{not json", content_type="application/json")

    assert_problem(response, 400, "parse_error")


def test_json_nested_a_hundred_thousand_deep_is_a_400_parse_error(api) -> None:  # type: ignore[no-untyped-def]
    body = "[" * 100_000 + "]" * 100_000  # 200 kB, deeper than the decoder can follow

    anonymous = api.post("/api/v1/auth/token/", body, content_type="application/json")
    signed_in = client_for(inspector().user).post("/api/v1/findings/", body, content_type="application/json")

    assert_problem(anonymous, 400, "parse_error")
    assert_problem(signed_in, 400, "parse_error")


def test_an_unsupported_media_type_is_a_415_problem(api) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/api/v1/auth/token/", data="username=a", content_type="text/plain")

    assert_problem(response, 415, "unsupported_media_type")


def test_missing_credentials_are_field_errors(api) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/api/v1/auth/token/", {}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert {(e["field"], e["code"]) for e in body["errors"]} == {
        ("username", "required"),
        ("password", "required"),
    }


def test_it_issues_and_refreshes_tokens(api) -> None:  # type: ignore[no-untyped-def]
    user(username="li", password="correct horse battery")

    tokens: dict[str, str] = api.post(
        "/api/v1/auth/token/", {"username": "li", "password": "correct horse battery"}
    ).json()
    refreshed = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})

    assert refreshed.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert api.get("/api/v1/me/").json()["username"] == "li"


def test_a_wrong_password_is_a_401_problem(api) -> None:  # type: ignore[no-untyped-def]
    user(username="li", password="correct horse battery")

    response = api.post("/api/v1/auth/token/", {"username": "li", "password": "wrong"})

    assert_problem(response, 401, "no_active_account")


def test_login_is_throttled(api, settings) -> None:  # type: ignore[no-untyped-def]
    rates: dict[str, str] = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    rate = rates["login"]
    limit = int(rate.split("/")[0])
    settings.AXES_FAILURE_LIMIT = 100  # the throttle, not the lockout (tests/accounts/test_lockout.py)
    for _ in range(limit):
        assert api.post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code == 401

    response = api.post("/api/v1/auth/token/", {"username": "x", "password": "y"})

    body = assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert body["retry_after"] > 0


def test_me_describes_an_inspector() -> None:
    profile = inspector(credential_number="ZJ-HZ-0001", user__username="wang")

    body = client_for(profile.user).get("/api/v1/me/").json()

    assert body["username"] == "wang"
    assert body["roles"] == ["inspector"]
    assert body["jurisdiction"] is None
    assert body["inspector"]["credential_number"] == "ZJ-HZ-0001"
    assert body["inspector"]["home_division"]["code"] == "330502"


def test_me_describes_a_supervisor() -> None:
    body = client_for(supervisor("330523")).get("/api/v1/me/").json()

    assert body["roles"] == ["supervisor"]
    assert body["jurisdiction"]["code"] == "330523"
    assert body["inspector"] is None


def test_a_forged_forwarded_for_does_not_escape_the_login_throttle(api, settings) -> None:  # type: ignore[no-untyped-def]
    settings.AXES_FAILURE_LIMIT = 100  # the throttle, not the lockout (tests/accounts/test_lockout.py)
    rates: dict[str, str] = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    limit = int(rates["login"].split("/")[0])
    for n in range(limit):
        forged = f"203.0.113.{n}"
        response = api.post(
            "/api/v1/auth/token/", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR=forged
        )
        assert response.status_code == 401

    response = api.post(
        "/api/v1/auth/token/", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR="198.51.100.7"
    )

    assert_problem(response, 429, "throttled")


def test_behind_a_trusted_proxy_each_client_has_its_own_login_budget(api, settings) -> None:  # type: ignore[no-untyped-def]
    settings.QINGSHAN_TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's address plays the proxy
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.AXES_FAILURE_LIMIT = 100  # the throttle, not the lockout (tests/accounts/test_lockout.py)
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    for n in range(limit):
        # the client's own prefix varies; the proxy appends the address it saw
        response = api.post(
            "/api/v1/auth/token/",
            {"username": "x", "password": "y"},
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 198.51.100.7",
        )
        assert response.status_code == 401

    same_client = api.post(
        "/api/v1/auth/token/",
        {"username": "x", "password": "y"},
        HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7",
    )
    other_client = api.post(
        "/api/v1/auth/token/", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR="198.51.100.8"
    )

    assert_problem(same_client, 429, "throttled")
    assert other_client.status_code == 401


def test_a_forged_forwarded_proto_does_not_make_a_request_secure(settings) -> None:  # type: ignore[no-untyped-def]
    from django.http import HttpRequest, HttpResponse
    from django.test import RequestFactory

    from config.proxies import UntrustedForwardingHeadersMiddleware

    seen: list[bool] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request.is_secure())
        return HttpResponse()

    middleware = UntrustedForwardingHeadersMiddleware(view)
    middleware(RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="203.0.113.9"))
    settings.QINGSHAN_TRUSTED_PROXIES = ["10.0.0.2"]
    middleware(RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.0.0.2"))

    assert seen == [False, True]


def test_a_body_larger_than_the_server_accepts_is_a_413_problem(api) -> None:  # type: ignore[no-untyped-def]
    body = '{"username": "' + "x" * 5_000_000 + '", "password": "y"}'  # 5 MB

    response = api.post("/api/v1/auth/token/", body, content_type="application/json")

    assert_problem(response, 413, "request_too_large")


def test_a_url_longer_than_the_server_accepts_is_a_414_problem(api) -> None:  # type: ignore[no-untyped-def]
    response = api.get("/api/v1/villages/?search=" + "x" * 5_000)

    assert_problem(response, 414, "uri_too_long")
    assert api.get("/api/v1/villages/?search=" + "x" * 1_000).status_code == 401  # an ordinary answer
