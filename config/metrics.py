"""Operational metrics in Prometheus's text format, for the operator's scraper only.

``GET /metrics`` answers only with ``Authorization: Bearer <QINGSHAN_METRICS_TOKEN>``
(401 otherwise); without a token set it is not served at all (404). Every figure is read
when scraped, from the database and the dependencies themselves, so any web process
answers the same and nothing is kept between scrapes:

- ``qingshan_dependency_up{dependency}``: the database, the broker and the media storage
  answer (1) or not (0), as ``/readyz`` checks them;
- ``qingshan_media_storage_full``: the media storage refuses writes for want of space;
- ``qingshan_photos_waiting``: photos acknowledged and not processed yet;
- ``qingshan_photos_stuck``: of those, the ones waiting longer than
  ``QINGSHAN_PHOTO_STUCK_AFTER_MINUTES`` (the sweeper sends them again);
- ``qingshan_photo_oldest_waiting_seconds``: how long the oldest of them has waited (0 when none).

The photo figures are left out while the database does not answer. They are counts of the
whole country's uploads, never of a village, an inspection or a person, and the endpoint is
the operator's (like ``/readyz``, answer it to the scraper only).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from config import health
from inspections.api.problems import metrics_token_required

logger = logging.getLogger(__name__)


class ProductCollector(Collector):
    """The figures of one scrape (see the module's description)."""

    def collect(self) -> Iterator[Metric]:
        from inspections.evidence.recovery import photos_stuck, photos_waiting

        found = health.dependency_checks()
        up = GaugeMetricFamily(
            "qingshan_dependency_up", "Whether a dependency answers (1) or not (0).", labels=["dependency"]
        )
        for name, answering in found.answering().items():
            up.add_metric([name], float(answering))
        yield up
        yield GaugeMetricFamily(
            "qingshan_media_storage_full",
            "Whether the media storage refuses writes for want of space.",
            value=float(found.storage == "full"),
        )
        if not found.database:
            return
        try:
            now = timezone.now()
            waiting = photos_waiting()
            count = waiting.count()
            stuck = photos_stuck(now=now).count()
            oldest = waiting.order_by("received_at").values_list("received_at", flat=True).first()
        except Exception:
            logger.exception("metrics: could not count the photos waiting for processing")
            return
        yield GaugeMetricFamily(
            "qingshan_photos_waiting", "Photos acknowledged and not processed yet.", value=count
        )
        yield GaugeMetricFamily(
            "qingshan_photos_stuck",
            "Photos waiting for processing longer than QINGSHAN_PHOTO_STUCK_AFTER_MINUTES.",
            value=stuck,
        )
        yield GaugeMetricFamily(
            "qingshan_photo_oldest_waiting_seconds",
            "How long the oldest photo waiting for processing has waited (0 when none).",
            value=max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0,
        )


def metrics(request: HttpRequest) -> HttpResponse:
    """The figures above, to a caller with the metrics token, in the format its ``Accept`` names."""
    token = settings.QINGSHAN_METRICS_TOKEN
    if not token:
        raise Http404
    scheme, _space, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return metrics_token_required(request)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProductCollector())
    # The format the scraper asks for (OpenMetrics or the classic text format, by default).
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry), content_type=content_type)
