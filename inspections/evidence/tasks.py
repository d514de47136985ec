"""Celery tasks: thin adapters that load by id and call a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from inspections.common.database_errors import database_errors
from inspections.evidence import reconcile, recovery, tus
from inspections.evidence import services as evidence


@shared_task(
    name="inspections.photo_process",
    # Acknowledged once done: a worker killed mid-run leaves the message to be
    # delivered again (reject_on_worker_lost), and the sweeper re-sends what is lost.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=120,
    time_limit=180,
    # A database cut or a storage hiccup passes: retried with backoff (about 2 minutes
    # in all), after which the photo is still received and the sweeper sends it again. The
    # driver's own errors too: one can escape Django's translation (database_errors).
    autoretry_for=(*database_errors(), OSError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=6,
)
def photo_process(photo_id: int) -> None:
    """Process a received photo (EXIF, renditions, perceptual hash, flags). Idempotent."""
    evidence.photo_process(photo_id=photo_id)


@shared_task(name="inspections.photos_sweep", time_limit=300)
def photos_sweep() -> dict[str, int]:
    """Send processing again for photos received a while ago and still not processed."""
    result = recovery.photos_sweep()
    return {"stuck": result.stuck, "sent": result.sent, "not_sent": result.not_sent}


@shared_task(name="inspections.media_reconcile", time_limit=3600)
def media_reconcile() -> dict[str, Any]:
    """Remove stored files that no row refers to, older than the grace period."""
    result = reconcile.media_reconcile()
    return {"examined": result.examined, "removed": result.summary(), "errors": len(result.errors)}


@shared_task(name="inspections.uploads_expire", time_limit=600)
def uploads_expire() -> int:
    """Delete unfinished resumable uploads past their expiry, and their bytes."""
    return tus.uploads_expire()
