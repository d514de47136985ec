from __future__ import annotations

import pytest


def test_healthz_answers_without_touching_the_database(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database_the_broker_and_the_storage(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "broker": True, "storage": True}
    assert response.json()["detail"] == {"storage": "ok", "photos_stuck": 0}
