"""The product's database connections: PostgreSQL's JIT compilation is off unless asked for."""

from __future__ import annotations

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
