"""A client generated from the OpenAPI schema works unmodified against a live server."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import supervisor, village

pytestmark = pytest.mark.slow


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
