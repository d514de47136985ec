"""A database outage under a page is the 503 page with ``Retry-After``, in the reader's language.

The API's own answer (``database_unavailable``) is tested with the uploads
(``tests/evidence/test_durability.py``); these are the admin, where supervisors
work, and the public pages. Any other error under a page is still the 500 page.
"""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError
from django.http import HttpResponse, HttpResponseBase
from django.test import Client, RequestFactory

from inspections.api.problems import DatabaseUnavailableMiddleware
from tests.builders import supervisor
from tests.faults import drivers_own_error, unreachable_database

pytestmark = pytest.mark.django_db(transaction=True)


def assert_unavailable_page(response: HttpResponseBase, heading: str) -> None:
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "30"
    assert isinstance(response, HttpResponse)
    page = response.content.decode()
    assert f"<h1>{heading}</h1>" in page
    assert "Traceback" not in page and "OperationalError" not in page


def test_a_supervisor_in_the_admin_gets_the_503_page_in_chinese(caplog: pytest.LogCaptureFixture) -> None:
    client = Client()
    client.force_login(supervisor("330523"))
    with caplog.at_level(logging.WARNING), unreachable_database():
        response = client.get("/admin/")

    assert_unavailable_page(response, "暂时无法访问")
    assert "请稍后重试" in response.content.decode()
    # Logged as what it is, without a server error's traceback.
    assert any("database unavailable" in record.getMessage() for record in caplog.records)
    assert not any(record.exc_info for record in caplog.records)
    # The database back, the same page answers again.
    assert client.get("/admin/").status_code == 200


def test_the_public_pages_get_it_in_english_too() -> None:
    with unreachable_database():
        response = Client().get("/public/en/", HTTP_ACCEPT_LANGUAGE="en")

    assert_unavailable_page(response, "Temporarily unavailable")


@pytest.mark.parametrize(
    "error",
    [OperationalError("server closed the connection"), drivers_own_error("consuming input failed")],
    ids=["django", "driver"],
)
def test_either_kind_of_connection_error_is_an_outage(error: Exception) -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    answer = middleware.process_exception(RequestFactory().get("/admin/"), error)

    assert answer is not None and answer.status_code == 503


def test_a_bug_under_a_page_and_anything_under_the_api_are_left_to_their_own_handlers() -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    factory = RequestFactory()

    assert middleware.process_exception(factory.get("/admin/"), ValueError("a bug")) is None
    # The API's views answer database_unavailable themselves, as a problem document.
    assert middleware.process_exception(factory.get("/api/v1/me/"), OperationalError("gone")) is None
