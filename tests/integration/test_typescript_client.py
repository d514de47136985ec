"""A TypeScript client generated from the OpenAPI schema works, strictly typed and unmodified.

``tests/clients/typescript/``: openapi-typescript generates the types from the
live server's ``/api/schema/`` (default settings), ``tsc --noEmit`` checks the
openapi-fetch program ``day.ts`` under ``strict``, and the program, compiled,
plays the phone's field day against the live server (log in, assignments,
check-in, finding, pending photos as a ``Problem``, a multipart photo and a tus
one, submission, cases). The program has no casts: what it needs, the schema says.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests import builders
from tests.integration.client_contract import PASSWORD, USERNAME, assert_the_day_is_recorded, field_day

pytestmark = pytest.mark.slow

PACKAGE = Path(__file__).resolve().parent.parent / "clients" / "typescript"


def run(command: list[str], *, env: dict[str, str] | None = None, timeout: int = 300) -> str:
    result = subprocess.run(
        command,
        cwd=PACKAGE,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_the_typescript_program_has_no_casts() -> None:
    """No ``as`` (but ``as const``), no non-null ``!``, no ``any``, no ``@ts-`` directive."""
    source = re.sub(r"//.*", "", (PACKAGE / "day.ts").read_text())

    assert re.findall(r"\bas\s+(?!const\b)[\w{(\[]", source) == []
    assert re.findall(r"[\w)\]]!(?!=)", source) == []
    assert re.findall(r"\bany\b", source) == []
    assert "@ts-" not in (PACKAGE / "day.ts").read_text()


@pytest.mark.django_db(transaction=True)
def test_a_typescript_client_plays_the_field_day(live_server: Any, client: Any, tmp_path: Path) -> None:
    npm = shutil.which("npm")
    node = shutil.which("node")
    assert npm is not None and node is not None, "Node.js and npm are needed (README: Tests and CI)"
    if not (PACKAGE / "node_modules").is_dir():
        run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"], timeout=600)
    schema = tmp_path / "schema.yaml"
    schema.write_bytes(client.get("/api/schema/", HTTP_ACCEPT_LANGUAGE="zh-hans").content)
    run([npm, "run", "-s", "generate"], env={"QINGSHAN_SCHEMA": str(schema)})
    run([npm, "run", "-s", "check"])
    shutil.rmtree(PACKAGE / "build", ignore_errors=True)
    run([npm, "run", "-s", "build"])

    day = field_day()
    photos = [tmp_path / "form.jpg", tmp_path / "tus.jpg"]
    for seed, path in enumerate(photos, start=1):
        path.write_bytes(builders.camera_jpeg(seed=seed, gps=builders.YUCUN_WGS84))
    output = run(
        [node, "build/day.js"],
        env={
            "QINGSHAN_URL": live_server.url,
            "QINGSHAN_USERNAME": USERNAME,
            "QINGSHAN_PASSWORD": PASSWORD,
            "QINGSHAN_INSPECTION": str(day.inspection),
            "QINGSHAN_PHOTOS": ",".join(str(p) for p in photos),
        },
        timeout=120,
    )

    seen = json.loads(output.strip().splitlines()[-1])
    assert seen["assignment"] == day.inspection
    assert seen["pending"] == "photos_pending"
    assert seen["case_status"] == "awaiting_review"
    assert seen["unauthorised"] == "token_not_valid"
    assert seen["versionless"] == "tus_version_unsupported"
    assert_the_day_is_recorded(day)
