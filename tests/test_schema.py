"""The OpenAPI schema validates, and a client generated from it works unmodified."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate

from tests.factories import supervisor, village


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
    """The API contract changes only on purpose: regenerate ``tests/fixtures/openapi.yaml``
    (``manage.py spectacular --file tests/fixtures/openapi.yaml``) and list the change in the commit."""
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated))

    recorded = Path(__file__).parent / "fixtures" / "openapi.yaml"
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


@pytest.mark.django_db(transaction=True)
def test_a_client_generated_from_the_schema_lists_villages(live_server, tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    """openapi-python-client generates a package that, unmodified, lists villages."""
    (tmp_path / "schema.yaml").write_bytes(client.get("/api/schema/").content)
    (tmp_path / "config.yaml").write_text(
        "project_name_override: qs-client\npackage_name_override: qs_client\npost_hooks: []\n"
    )
    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    assert generator is not None
    result = subprocess.run(
        [generator, "generate", "--path", "schema.yaml", "--config", "config.yaml", "--meta", "none"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout

    village("330523108204", "余村村委会")
    supervisor("330523", username="anji", password="pw-for-tests-only")
    sys.path.insert(0, str(tmp_path))
    try:
        qs_client = importlib.import_module("qs_client")
        token_api = importlib.import_module("qs_client.api.auth.auth_token_create")
        villages_api = importlib.import_module("qs_client.api.villages.villages_list")
        models = importlib.import_module("qs_client.models")

        anonymous = qs_client.Client(base_url=live_server.url)
        tokens = token_api.sync(
            client=anonymous,
            body=models.TokenObtainPairRequest(username="anji", password="pw-for-tests-only"),
        )
        authed = qs_client.AuthenticatedClient(base_url=live_server.url, token=tokens.access)
        page = villages_api.sync(client=authed, search="余村")

        assert [v.code for v in page.results] == ["330523108204"]
        assert page.results[0].township.code == "330523108"

        problem = villages_api.sync(
            client=qs_client.AuthenticatedClient(base_url=live_server.url, token="bad")
        )
        assert problem.code == "token_not_valid"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "qs_client" or m.startswith("qs_client.")]:
            del sys.modules[name]
