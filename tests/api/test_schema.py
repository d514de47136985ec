"""The OpenAPI schema validates, documents its problems, and is the one recorded.

That a client generated from it works unmodified is in ``tests/integration/test_generated_client.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from openapi_spec_validator import validate


def fetch_schema(client: Any) -> dict[str, Any]:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema: dict[str, Any] = yaml.safe_load(response.content)
    return schema


@pytest.mark.django_db
def test_the_schema_validates_as_openapi_3(client) -> None:  # type: ignore[no-untyped-def]
    schema = fetch_schema(client)

    validate(schema)
    assert schema["openapi"].startswith("3.")


def test_the_schema_is_the_one_recorded(tmp_path: Path) -> None:
    """The API contract changes only on purpose: regenerate the file for each database
    (``manage.py spectacular --file tests/fixtures/openapi.<vendor>.yaml``, on SQLite and on
    PostgreSQL) and list the change in the commit. The integer bounds of the schema follow the
    database's column ranges, so each backend has its own recording."""
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated))

    recorded = Path(__file__).resolve().parent.parent / "fixtures" / f"openapi.{connection.vendor}.yaml"
    assert generated.read_text() == recorded.read_text()


def test_the_schema_generates_without_warnings() -> None:
    """A warning means a guessed type somewhere: generated clients would be wrong."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull)


@pytest.mark.django_db
def test_every_operation_documents_its_problem_responses(client) -> None:  # type: ignore[no-untyped-def]
    schema = fetch_schema(client)

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            errors = {code: r for code, r in operation["responses"].items() if code.startswith(("4", "5"))}
            assert errors, f"{method.upper()} {path} documents no error response"
            for response in errors.values():
                assert list(response["content"]) == ["application/problem+json"]


def test_the_docs_page_uses_local_assets_only(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/api/docs/").content.decode()

    assert "swagger-ui" in page
    assert "//cdn" not in page and "unpkg.com" not in page and "jsdelivr" not in page
    assert "/static/drf_spectacular_sidecar/" in page
