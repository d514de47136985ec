"""Readiness when the broker does not answer: a real connection attempt and its retry wait (2 s)."""

from __future__ import annotations

import pytest
from celery import Celery

from config import health

pytestmark = pytest.mark.slow


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_unreachable(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # nothing listens on port 1; a separate app, so the real one's pools stay as they are
    # (Celery prefers the environment variable to its configuration)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(
        health, "celery_app", Celery("unreachable", broker="redis://127.0.0.1:1/0", set_as_current=False)
    )

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": True, "broker": False, "storage": True},
        "detail": {"storage": "ok", "photos_stuck": 0},
    }
