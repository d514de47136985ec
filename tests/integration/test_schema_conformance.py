"""Every operation, for every role, answers as the OpenAPI schema says.

schemathesis generates requests (valid and invalid: missing headers, wrong
types, out-of-range values) for every operation of the schema and sends them
to the WSGI application with the token of each role (and with none). Every
answer must be no server error, have a status the operation documents, a
documented content type, a body valid against the documented schema and the
documented headers. Examples are derandomized, so a run is the same run every
time: a failure is a mismatch between schema and behaviour, never bad luck.

Half the generated ids are replaced by those of real objects the caller may see
(their inspection, their case, their photo, their upload), so answers other than
404 are checked too.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from inspections.evidence import tus
from tests import builders

pytestmark = pytest.mark.slow

# tus PATCH bodies are raw bytes, as application/octet-stream ones are.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
ROLES = ["anonymous", "inspector", "supervisor", "responsible_party"]


@dataclass
class World:
    token: str | None
    ids: dict[str, Any]


@pytest.fixture
def wsgi_calls(world: World) -> Iterator[World]:
    """Calls go straight to the WSGI app, not through Django's test client: stop them
    closing the database connection that holds the test's transaction, as the client does
    (after the world is built: the test client reconnects the handler after each request)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield world
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=ROLES)
def world(request: pytest.FixtureRequest) -> World:
    """An inspection in Anji with its inspector, a photo and an upload, a case, and the caller."""
    builders.category("garbage-pile")
    member = builders.inspector()
    visit = builders.inspection(team=[member])
    picture = builders.photo(inspection=visit)
    created, _ = tus.upload_create(
        user=member.user,
        client_uuid=uuid.uuid4(),
        length=1000,
        metadata={"client_uuid": "", "inspection": str(visit.pk)},
        raw_metadata="",
    )
    case = builders.open_case()
    callers = {
        "inspector": member.user,
        "supervisor": builders.supervisor(builders.ANJI),
        "responsible_party": builders.responsible_party(builders.ANJI),
    }
    caller = callers.get(request.param)
    ids = {
        "inspections": visit.pk,
        "assignments": visit.pk,
        "cases": case.pk,
        "photos": str(picture.client_uuid),
        "uploads": str(created.pk),
    }
    token = str(RefreshToken.for_user(caller).access_token) if caller is not None else None
    return World(token=token, ids=ids)


def aim(case: Any, ids: dict[str, Any]) -> None:
    """Point about half the generated ids at a real object (the first path segment says which),
    chosen by a checksum of the generated value: the same choice in every run."""
    resource = case.path.removeprefix("/api/v1/").split("/", 1)[0]
    for name, value in list((case.path_parameters or {}).items()):
        chosen = zlib.crc32(str(value).encode()) % 2 == 0
        if name in ("pk", "id", "client_uuid") and resource in ids and chosen:
            case.path_parameters[name] = ids[resource]
    if isinstance(case.body, dict):
        for name in ("inspection", "case"):
            if isinstance(case.body.get(name), int) and case.body[name] % 2:
                case.body[name] = ids["inspections" if name == "inspection" else "cases"]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=10,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: Any, wsgi_calls: World) -> None:
    aim(case, wsgi_calls.ids)
    headers = {"Authorization": f"Bearer {wsgi_calls.token}"} if wsgi_calls.token else {}
    case.call_and_validate(headers=headers, checks=CHECKS)
