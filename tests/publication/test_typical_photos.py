"""Typical cases show only photos of their case their publisher may see; results, their inspections' own."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from inspections.accounts.models import User
from inspections.cases.admin.inlines import TypicalCaseForm
from inspections.cases.models import Case
from inspections.common.errors import DomainError
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Finding, Inspection
from inspections.publication.models import PublicImage, TypicalCase
from inspections.publication.services import (
    publication_create,
    publication_publish,
    results_photo_uuids,
    typical_case_publish,
)
from tests.builders import (
    DEQING_VILLAGE,
    YUCUN,
    inspection,
    open_case,
    submitted_inspection,
    supervisor,
    user,
)

pytestmark = pytest.mark.django_db


def photo_row(**owner: Any) -> Photo:
    """A processed photo of ``owner`` (``case=`` or ``inspection=``)."""
    return Photo.objects.create(
        client_uuid=uuid.uuid4(),
        uploaded_by=user(),
        channel=Photo.Channel.MULTIPART,
        original="originals/photo.jpg",
        content_type="image/jpeg",
        size=1,
        sha256="0" * 64,
        status=Photo.Status.READY,
        purpose=Photo.Purpose.AFTER if "case" in owner else Photo.Purpose.EVIDENCE,
        **owner,
    )


def deqing_case_with_its_photo() -> tuple[Case, Photo]:
    """A case in Deqing whose finding names a photo of its inspection."""
    case = open_case(village_code=DEQING_VILLAGE)
    before = photo_row(inspection=case.inspection)
    Finding.objects.filter(pk=case.finding_id).update(photo_uuids=[str(before.client_uuid)])
    case.refresh_from_db()
    return case, before


def write_up(case: Case, photos: list[str]) -> TypicalCase:
    return TypicalCase.objects.create(
        case=case, title_zh_hans="村口垃圾", summary_zh_hans="已责令整改。", photo_uuids=photos
    )


def refusal_of(case: Case, actor: User) -> DomainError:
    with pytest.raises(DomainError) as refused:
        typical_case_publish(case=case, actor=actor)
    return refused.value


def test_it_publishes_the_photos_of_its_case() -> None:
    case, before = deqing_case_with_its_photo()
    after = photo_row(case=case)
    write_up(case, [str(before.client_uuid), str(after.client_uuid)])

    typical = typical_case_publish(case=case, actor=supervisor("330521"))

    assert typical.published_at is not None


def test_an_in_progress_photo_of_another_county_is_refused_as_if_it_did_not_exist() -> None:
    """The Anji visit is under way: to Deqing's supervisor its photo is the same as no photo at all."""
    case, _before = deqing_case_with_its_photo()
    deqing = supervisor("330521")
    named = str(uuid.uuid4())

    def observe(hidden: bool) -> tuple[str, int, str]:
        with transaction.atomic():
            if hidden:
                pending = inspection(village=YUCUN, status=Inspection.Status.IN_PROGRESS)
                Photo.objects.filter(pk=photo_row(inspection=pending).pk).update(client_uuid=named)
            write_up(case, [named])
            refusal = refusal_of(case, deqing)
            transaction.set_rollback(True)
        return refusal.code, refusal.status, str(refusal.detail)

    without, with_hidden = observe(False), observe(True)

    assert with_hidden == without
    assert without[:2] == ("typical_case_photo_not_allowed", 422)
    assert not TypicalCase.objects.filter(published_at__isnull=False).exists()
    assert not PublicImage.objects.exists()


def test_a_photo_of_another_case_the_publisher_may_see_is_refused() -> None:
    case, _before = deqing_case_with_its_photo()
    other, other_photo = deqing_case_with_its_photo()
    write_up(case, [str(other_photo.client_uuid), str(photo_row(case=other).client_uuid)])

    refusal = refusal_of(case, supervisor("330521"))

    assert refusal.code == "typical_case_photo_not_allowed"
    assert len(refusal.extra["photos"]) == 2
    case.typical.refresh_from_db()
    assert case.typical.published_at is None


def test_a_photo_of_the_inspection_its_finding_does_not_name_is_refused() -> None:
    case, _before = deqing_case_with_its_photo()
    unnamed = photo_row(inspection=case.inspection)
    write_up(case, [str(unnamed.client_uuid)])

    assert refusal_of(case, supervisor("330521")).code == "typical_case_photo_not_allowed"


def test_the_admin_form_refuses_a_photo_that_is_not_the_cases() -> None:
    case, before = deqing_case_with_its_photo()
    pending = inspection(village=YUCUN, status=Inspection.Status.IN_PROGRESS)
    foreign = photo_row(inspection=pending)
    data = {"title_zh_hans": "村口垃圾", "title_en": "", "summary_zh_hans": "已整改。", "summary_en": ""}

    refused = TypicalCaseForm(
        data={**data, "photo_uuids": f'["{foreign.client_uuid}"]'}, instance=TypicalCase(case=case)
    )
    refused.editor = supervisor("330521")
    accepted = TypicalCaseForm(
        data={**data, "photo_uuids": f'["{before.client_uuid}"]'}, instance=TypicalCase(case=case)
    )
    accepted.editor = refused.editor

    assert not refused.is_valid()
    assert "photo_uuids" in refused.errors
    assert accepted.is_valid(), accepted.errors


def test_the_public_never_shows_a_photo_a_typical_case_named_that_is_not_its_cases() -> None:
    """One published before the rule: the public copy of the foreign photo is not shown with it."""
    case, before = deqing_case_with_its_photo()
    pending = inspection(village=YUCUN, status=Inspection.Status.IN_PROGRESS)
    foreign = photo_row(inspection=pending)
    typical = write_up(case, [str(before.client_uuid), str(foreign.client_uuid)])
    TypicalCase.objects.filter(pk=typical.pk).update(published_at=case.opened_at)
    for source in (before, foreign):
        PublicImage.objects.create(
            source_photo_uuid=source.client_uuid, image="public/x.jpg", width=1, height=1
        )
    own_image = PublicImage.objects.get(source_photo_uuid=before.client_uuid)

    detail = Client().get(f"/api/v1/public/typical-cases/{typical.pk}/").json()
    listing = Client().get("/api/v1/public/typical-cases/").json()

    assert [p["url"] for p in detail["photos"]] == [f"/public/images/{own_image.uuid}.jpg"]
    assert [p["url"] for p in listing["results"][0]["photos"]] == [f"/public/images/{own_image.uuid}.jpg"]


# --- Results: a finding shows only photos of its own inspection -------------------------------


def test_results_show_and_make_public_only_photos_of_the_findings_own_inspection() -> None:
    visit = submitted_inspection(village_code=DEQING_VILLAGE, findings=1)
    own = photo_row(inspection=visit)
    pending = inspection(village=YUCUN, status=Inspection.Status.IN_PROGRESS)
    foreign = photo_row(inspection=pending)
    missing = str(uuid.uuid4())
    Finding.objects.filter(inspection=visit).update(
        photo_uuids=[str(own.client_uuid), str(foreign.client_uuid), missing]
    )
    publication = publication_create(title_zh_hans="德清抽查结果", inspections=[visit])
    for source in (own, foreign):
        PublicImage.objects.create(
            source_photo_uuid=source.client_uuid, image="public/x.jpg", width=1, height=1
        )
    own_image = PublicImage.objects.get(source_photo_uuid=own.client_uuid)

    assert results_photo_uuids(publication=publication) == [str(own.client_uuid)]
    publication_publish(publication=publication, actor=supervisor("330521"))
    detail = Client().get(f"/api/v1/public/results/{publication.pk}/").json()

    (row,) = detail["inspections"]
    (shown,) = row["findings"]
    assert [p["url"] for p in shown["photos"]] == [f"/public/images/{own_image.uuid}.jpg"]
