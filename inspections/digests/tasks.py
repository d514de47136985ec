"""Celery tasks of the digests: thin, named, on the email queue; each loads and calls a service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from inspections.digests import services
from inspections.digests.selectors import Period


# Queues come from CELERY_TASK_ROUTES ("email"); a retry goes back to the queue it came from.
@shared_task(
    name="inspections.digests.send_scheduled",
    soft_time_limit=240,
    time_limit=300,
    acks_late=True,
)
def send_scheduled(kind: str, period: str | None = None) -> int:
    """Beat (daily 08:00, weekly Monday 08:00): fan the last complete period out in chunks.

    Returns the number of chunks enqueued. Firing twice enqueues only what is
    not done; the chunks' claims keep every digest to one send.
    """
    if period is None:
        target = Period.last_complete(kind, timezone.now())
    else:
        target = Period.containing(kind, dt.date.fromisoformat(period))
    return len(services.digests_fan_out(kind=kind, period=target))


@shared_task(
    bind=True,
    name="inspections.digests.send_chunk",
    soft_time_limit=540,
    # The hard limit stays below QINGSHAN_DIGEST_CLAIM_TIMEOUT_SECONDS: a claim
    # older than the timeout can only belong to a worker that is gone.
    time_limit=600,
    acks_late=True,
)
def send_digest_chunk(self: Any, kind: str, period: str, recipient_ids: list[int]) -> int:
    """Send the digests of a chunk of recipients; retry the transient failures only."""
    target = Period.containing(kind, dt.date.fromisoformat(period))
    try:
        outcomes = services.digests_deliver_chunk(kind=kind, period=target, recipient_ids=recipient_ids)
    except services.DigestTransientError as exc:
        countdown = settings.QINGSHAN_DIGEST_RETRY_SECONDS * 2**self.request.retries
        raise self.retry(
            exc=exc,
            countdown=countdown,
            max_retries=settings.QINGSHAN_DIGEST_MAX_ATTEMPTS,
        ) from exc
    return sum(1 for outcome in outcomes if outcome.status == "sent")
