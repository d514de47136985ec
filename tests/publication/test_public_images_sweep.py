"""Public copies whose task was never sent are made by the hourly sweep: the published photos only.

A publication's task is published after the commit without waiting on the broker
(a bounded publish); when it was not sent, or was lost with its process,
``inspections.publication.make_owed_public_images`` makes what is still missing
for what was published in the last 30 days, and nothing else.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from inspections.evidence.models import Photo
from inspections.fieldwork.models import Finding, Inspection
from inspections.publication.models import PublicImage
from inspections.publication.services import (
    PUBLIC_IMAGES_SWEEP_WINDOW,
    publication_create,
    publication_publish,
    recently_published_photos,
)
from inspections.publication.tasks import make_owed_public_images
from tests.builders import DEQING_VILLAGE, camera_jpeg, submitted_inspection, supervisor, user

pytestmark = pytest.mark.django_db


def visit_with_a_photo() -> tuple[Inspection, Photo]:
    """A submitted visit whose finding names a processed photo of it, with a real original on disk."""
    visit = submitted_inspection(village_code=DEQING_VILLAGE, findings=1)
    client_uuid = uuid.uuid4()
    name = default_storage.save(f"photos/originals/{client_uuid}.jpg", ContentFile(camera_jpeg()))
    photo = Photo.objects.create(
        client_uuid=client_uuid,
        inspection=visit,
        uploaded_by=user(),
        channel=Photo.Channel.MULTIPART,
        original=name,
        content_type="image/jpeg",
        size=default_storage.size(name),
        sha256="0" * 64,
        status=Photo.Status.READY,
    )
    Finding.objects.filter(inspection=visit).update(photo_uuids=[str(client_uuid)])
    return visit, photo


def test_the_copies_of_results_whose_task_was_lost_are_made_by_the_sweep_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    published_visit, shown = visit_with_a_photo()
    unpublished_visit, kept = visit_with_a_photo()
    publication = publication_create(title_zh_hans="德清抽查结果", inspections=[published_visit])
    publication_create(title_zh_hans="尚未公开", inspections=[unpublished_visit])
    # The commit's callbacks never run: the publish's message was lost with its process.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        publication_publish(publication=publication, actor=supervisor("330521"))
    assert len(callbacks) == 1 and not PublicImage.objects.exists()

    assert recently_published_photos(now=timezone.now()) == [str(shown.client_uuid)]
    assert make_owed_public_images.apply().result == 1
    (image,) = PublicImage.objects.all()
    assert image.source_photo_uuid == shown.client_uuid  # never the unpublished visit's photo
    assert make_owed_public_images.apply().result == 0  # made once

    # What was published longer ago than the window is not looked at again.
    PublicImage.objects.all().delete()
    later = timezone.now() + PUBLIC_IMAGES_SWEEP_WINDOW + dt.timedelta(days=1)
    assert recently_published_photos(now=later) == []
    assert str(kept.client_uuid) not in recently_published_photos(now=timezone.now())
