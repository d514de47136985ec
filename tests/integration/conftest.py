"""Everything here is in the slow lane: ``pytest -m "not slow"`` leaves it out."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test put here without ``pytestmark = pytest.mark.slow`` would slip into the fast lane."""
    unmarked = [
        item.nodeid
        for item in items
        if "/integration/" in item.nodeid and item.get_closest_marker("slow") is None
    ]
    if unmarked:
        raise pytest.UsageError(f"tests in tests/integration/ must be marked slow: {unmarked}")


# The S3-protocol server and a bucket per test (tests/integration/object_store.py), for every test here.
from tests.integration.object_store import s3_bucket, s3_endpoint  # noqa: E402, F401
