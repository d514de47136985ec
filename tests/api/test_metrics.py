"""GET /metrics: the operator's figures in Prometheus's text format, behind the metrics token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config import health
from inspections.evidence.models import Photo
from tests import builders

TOKEN = "metrics-token-for-tests"


def scrape(client, token: str = TOKEN) -> dict[str, float]:  # type: ignore[no-untyped-def]
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            labels = ",".join(f"{name}={value}" for name, value in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_not_served_without_a_token_set(client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.QINGSHAN_METRICS_TOKEN = ""

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"]
)
def test_refused_without_the_token(client, settings, header) -> None:  # type: ignore[no-untyped-def]
    settings.QINGSHAN_METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}

    response = client.get("/metrics", **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.json()["code"] == "not_authenticated"
    assert b"qingshan_" not in response.content


@pytest.mark.django_db
def test_figures_of_an_idle_service(client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.QINGSHAN_METRICS_TOKEN = TOKEN

    assert scrape(client) == {
        "qingshan_dependency_up{dependency=database}": 1.0,
        "qingshan_dependency_up{dependency=broker}": 1.0,
        "qingshan_dependency_up{dependency=storage}": 1.0,
        "qingshan_media_storage_full": 0.0,
        "qingshan_photos_waiting": 0.0,
        "qingshan_photos_stuck": 0.0,
        "qingshan_photo_oldest_waiting_seconds": 0.0,
    }


@pytest.mark.django_db
def test_photos_waiting_and_stuck(client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.QINGSHAN_METRICS_TOKEN = TOKEN
    inspection = builders.inspection(team=[builders.inspector()])
    builders.photo(inspection=inspection)  # processed: not counted
    builders.photo(inspection=inspection, process=False)  # just received
    stuck = builders.photo(inspection=inspection, process=False)
    Photo.objects.filter(pk=stuck.pk).update(received_at=timezone.now() - timedelta(minutes=10))

    samples = scrape(client)

    assert samples["qingshan_photos_waiting"] == 2
    assert samples["qingshan_photos_stuck"] == 1
    assert 600 <= samples["qingshan_photo_oldest_waiting_seconds"] < 660


@pytest.mark.django_db
def test_photo_figures_left_out_while_the_database_is_down(client, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings.QINGSHAN_METRICS_TOKEN = TOKEN
    monkeypatch.setattr(health, "database_ok", lambda: False)

    samples = scrape(client)

    assert samples["qingshan_dependency_up{dependency=database}"] == 0.0
    assert not any(name.startswith("qingshan_photo") for name in samples)


def test_the_refusal_in_chinese(client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.QINGSHAN_METRICS_TOKEN = TOKEN

    response = client.get("/metrics", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 401
    assert response.json()["detail"] == "读取运行指标须提供指标令牌（Authorization: Bearer）。"


@pytest.mark.django_db
def test_openmetrics_to_a_scraper_that_asks_for_it(client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.QINGSHAN_METRICS_TOKEN = TOKEN

    response = client.get(
        "/metrics",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        HTTP_ACCEPT="application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert response.content.endswith(b"# EOF\n")
    assert b"qingshan_photos_stuck 0.0" in response.content
