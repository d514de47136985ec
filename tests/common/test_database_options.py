"""The product's database connections: PostgreSQL's JIT compilation is off unless asked for; the pools."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection


@pytest.mark.django_db
def test_postgresql_connections_run_without_jit_and_sqlite_is_left_alone() -> None:
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if connection.vendor == "postgresql":
        assert options["options"] == "-c jit=off"
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            assert cursor.fetchone() == ("off",)
    else:
        assert "options" not in options


POOL_OPTIONS = "settings.DATABASES['default']['OPTIONS']['pool']"


@pytest.mark.parametrize(
    ("database_url", "expected"),
    [
        ("sqlite:///{var}/pool.sqlite3", {"max_size": 10}),
        ("postgres://postgres@127.0.0.1:5432/unused", {"min_size": 2, "max_size": 10, "timeout": 10}),
    ],
)
def test_the_web_servers_pool_setting_pools_either_database(
    database_url: str, expected: dict[str, int], tmp_path: Path
) -> None:
    """``DATABASE_POOL`` (the Procfile's web line): a pool of one view place's connection each, and two."""
    variables = {
        **os.environ,
        "DATABASE_URL": database_url.format(var=tmp_path),
        "DATABASE_POOL": "1",
        "QINGSHAN_WEB_THREADS": "8",
        "QINGSHAN_VAR_DIR": str(tmp_path),
        "QINGSHAN_LEDGER_KEY": "test-only-ledger-key",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    variables.pop("DATABASE_POOL_MAX_SIZE", None)
    printed = subprocess.run(
        [sys.executable, "-c", f"from config import settings; print({POOL_OPTIONS})"],
        env=variables,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(settings.BASE_DIR),
    ).stdout
    assert ast.literal_eval(printed.strip()) == expected
