"""Celery tasks: thin adapters that load by id and call a service."""

from __future__ import annotations

from celery import shared_task

from inspections.evidence import services as evidence
from inspections.evidence import tus


@shared_task(
    name="inspections.photo_process",
    acks_late=True,
    soft_time_limit=120,
    time_limit=180,
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def photo_process(photo_id: int) -> None:
    """Process a received photo (EXIF, renditions, perceptual hash, flags). Idempotent."""
    evidence.photo_process(photo_id=photo_id)


@shared_task(name="inspections.uploads_expire", time_limit=600)
def uploads_expire() -> int:
    """Delete unfinished resumable uploads past their expiry, and their bytes."""
    return tus.uploads_expire()
