"""TODO docstring."""

from __future__ import annotations

from celery import shared_task

from inspections.publication import services as publication_services


@shared_task(name="inspections.cases.warn_publication_due", time_limit=600, expires=3000)
def warn_publication_due() -> int:
    """Beat, daily: warn organisers before results are due for publication."""
    return publication_services.publications_warn_due()


@shared_task(name="inspections.cases.make_public_images", time_limit=900)
def make_public_images(photo_uuids: list[str]) -> int:
    return len(publication_services.public_images_make(photo_uuids=photo_uuids))
