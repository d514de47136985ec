"""Photos that were acknowledged but not processed: found, counted and sent again.

A photo's processing task may never reach a worker (the broker was down when
the upload committed, or the commit's answer was lost so nothing was sent), or
may die with its worker. Nothing waits on the broker for those: the row says
by itself that it is not done (``received``). The sweeper
(:func:`photos_sweep`, a beat task every few minutes) sends the processing
task again for each photo received longer ago than
``QINGSHAN_PHOTO_STUCK_AFTER``, at most once per that period per photo
(``processing_resent_at``), so a backlog is not multiplied. Processing is
idempotent, so a photo processed twice is processed once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from inspections.common.dispatch import task_send_bounded
from inspections.evidence.models import Photo

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500


def photos_waiting(photos: QuerySet[Photo] | None = None) -> QuerySet[Photo]:
    """Photos received and not processed yet, however recently (index ``photo_received_waiting``)."""
    base = Photo.objects.all() if photos is None else photos
    return base.filter(status=Photo.Status.RECEIVED)


def photos_stuck(*, now: datetime | None = None, photos: QuerySet[Photo] | None = None) -> QuerySet[Photo]:
    """Photos received longer ago than ``QINGSHAN_PHOTO_STUCK_AFTER`` and still not processed."""
    moment = now or timezone.now()
    return photos_waiting(photos).filter(received_at__lt=moment - settings.QINGSHAN_PHOTO_STUCK_AFTER)


@dataclass(frozen=True)
class Sweep:
    stuck: int
    sent: int
    not_sent: int


def photos_sweep(*, now: datetime | None = None, batch: int = SWEEP_BATCH) -> Sweep:
    """Send the processing task again for stuck photos not re-sent within the last period."""
    moment = now or timezone.now()
    stuck = photos_stuck(now=moment)
    due = stuck.filter(
        Q(processing_resent_at__isnull=True)
        | Q(processing_resent_at__lt=moment - settings.QINGSHAN_PHOTO_STUCK_AFTER)
    )
    sent = not_sent = 0
    for photo_id in due.order_by("received_at", "pk").values_list("pk", flat=True)[:batch]:
        # Marked before sending: a sweep that dies in between waits one period, never floods.
        Photo.objects.filter(pk=photo_id).update(processing_resent_at=moment)
        if task_send_bounded("inspections.photo_process", photo_id):
            sent += 1
        else:
            not_sent += 1
            Photo.objects.filter(pk=photo_id).update(processing_resent_at=None)
            break  # the broker is down: the next sweep tries again
    result = Sweep(stuck=stuck.count(), sent=sent, not_sent=not_sent)
    if result.stuck:
        logger.warning("photos stuck: %d; processing sent again for %d", result.stuck, result.sent)
    return result
