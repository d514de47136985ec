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


@pytest.mark.django_db
def test_the_schema_is_the_same_in_every_language(client, django_user_model) -> None:  # type: ignore[no-untyped-def]
    """Generated clients take names from the schema: it is English and byte-identical whatever the
    caller's language (Accept-Language, drf-spectacular's ``?lang=``, a logged-in account's)."""
    english = client.get("/api/schema/", HTTP_ACCEPT_LANGUAGE="en").content
    assert b"Number of results to return per page" in english

    for headers in ({}, {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}, {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}):
        assert client.get("/api/schema/", **headers).content == english
    assert client.get("/api/schema/?lang=zh-hans", HTTP_ACCEPT_LANGUAGE="zh-hans").content == english
    chinese_reader = django_user_model.objects.create_user("reader", password="pw-for-tests-only")
    chinese_reader.language = "zh-hans"
    chinese_reader.save()
    client.force_login(chinese_reader)
    assert client.get("/api/schema/", HTTP_ACCEPT_LANGUAGE="zh-hans").content == english


@pytest.mark.django_db
def test_no_generated_name_comes_from_a_label(client) -> None:  # type: ignore[no-untyped-def]
    """Property and parameter schemas carry no ``title`` (a verbose name): clients would name types
    after it (``cases_list_严重程度``); the names are the fields' own."""
    schema = yaml.safe_load(client.get("/api/schema/").content)

    titled = [
        f"{name}.{prop_name}"
        for name, component in schema["components"]["schemas"].items()
        for prop_name, prop in component.get("properties", {}).items()
        if "title" in prop
    ] + [
        f"{method} {path} {parameter['name']}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if "title" in parameter.get("schema", {})
    ]
    assert titled == []


@pytest.mark.django_db
def test_multipart_fields_are_never_nullable(client) -> None:  # type: ignore[no-untyped-def]
    """A form cannot carry a null: a client told a field is nullable sends the string "None"."""
    schema = fetch_schema(client)

    forms = [
        operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
        for operations in schema["paths"].values()
        for operation in operations.values()
        if "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
    ]
    assert forms == ["PhotoUploadInputRequest"]
    properties = schema["components"]["schemas"]["PhotoUploadInputRequest"]["properties"]
    assert {"inspection", "case", "taken_at", "longitude", "latitude", "device_time"} <= set(properties)
    assert [name for name, prop in properties.items() if prop.get("nullable")] == []


@pytest.mark.django_db
def test_the_problem_schema_lists_its_extension_members(client) -> None:  # type: ignore[no-untyped-def]
    problem = fetch_schema(client)["components"]["schemas"]["Problem"]

    assert set(problem["required"]) == {"type", "title", "status", "code", "detail", "instance"}
    assert {"pending_photos", "max_bytes", "max_pixels", "offset", "retry_after", "from_status"} <= set(
        problem["properties"]
    )


@pytest.mark.django_db
def test_the_tus_endpoints_document_their_methods_and_headers(client) -> None:  # type: ignore[no-untyped-def]
    paths = fetch_schema(client)["paths"]

    upload = paths["/api/v1/uploads/{id}/"]
    assert set(upload) == {"head", "patch", "delete", "options"}
    assert set(paths["/api/v1/uploads/"]) == {"post", "options"}
    for method in ("head", "patch", "delete"):
        sent = {p["name"] for p in upload[method]["parameters"] if p["in"] == "header"}
        assert "Tus-Resumable" in sent
        for response in upload[method]["responses"].values():
            assert "Tus-Resumable" in response["headers"]
    assert {"Upload-Offset", "Upload-Length"} <= set(upload["head"]["responses"]["200"]["headers"])
    assert "Tus-Version" in upload["patch"]["responses"]["412"]["headers"]
    assert {"Tus-Version", "Tus-Extension", "Tus-Max-Size"} <= set(
        upload["options"]["responses"]["204"]["headers"]
    )
    assert "Location" in paths["/api/v1/uploads/"]["post"]["responses"]["201"]["headers"]


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
