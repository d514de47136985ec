"""Tasks of publication: they load and call a service.

Their names keep the ``inspections.cases.`` prefix they shipped with: beat rows
and queued messages hold them. Queues are routed in ``CELERY_TASK_ROUTES``.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from inspections.common.dispatch import mail_retry
from inspections.common.mail import MailTransientError
from inspections.publication import services as publication_services


@shared_task(bind=True, name="inspections.cases.warn_publication_due", time_limit=600, expires=3000)
def warn_publication_due(self: Any) -> int:
    """Beat, daily: warn organisers before results are due for publication; retry transient SMTP errors."""
    try:
        return publication_services.publications_warn_due()
    except MailTransientError as exc:
        raise mail_retry(self, exc, expires=None) from exc


@shared_task(name="inspections.cases.make_public_images", time_limit=900)
def make_public_images(photo_uuids: list[str]) -> int:
    """On publication: make the public copies (no metadata) of the photos shown."""
    return len(publication_services.public_images_make(photo_uuids=photo_uuids))


@shared_task(name="inspections.publication.make_owed_public_images", time_limit=900, expires=3000)
def make_owed_public_images() -> int:
    """Beat, hourly: the public copies of published photos still missing (their task was never sent)."""
    return publication_services.public_images_sweep()
