"""Property-based API testing from the OpenAPI schema: no input makes the field endpoints fail with a 500.

schemathesis generates requests (valid and invalid) for every operation of the
field and evidence endpoints, as an inspector with an open inspection; every
answer must be something other than a server error, and valid per the schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error

from tests import builders
from tests.builders import category
from tests.builders import inspector as team_member

# tus PATCH bodies are raw bytes, as application/octet-stream ones are.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application()).include(
    path_regex=r"^/api/v1/(assignments|inspections|findings|photos|uploads)/"
)


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """Calls go straight to the WSGI app, not through Django's test client: stop them
    closing the database connection that holds the test's transaction, as the client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def inspector_token() -> tuple[str, int]:
    member = team_member()
    inspection = builders.inspection(team=[member])
    category("garbage-pile")
    return str(RefreshToken.for_user(member.user).access_token), inspection.pk


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_input_makes_a_field_endpoint_fail(case: Any, inspector_token: tuple[str, int]) -> None:
    token, inspection_id = inspector_token
    # Aim half the cases at the caller's own inspection so that they get past the scope check.
    pk = (case.path_parameters or {}).get("pk")
    if isinstance(pk, int) and pk % 2 == 0:
        case.path_parameters["pk"] = inspection_id
    if (
        isinstance(case.body, dict)
        and isinstance(case.body.get("inspection"), int)
        and case.body["inspection"] % 2
    ):
        case.body["inspection"] = inspection_id
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error])
