"""A rectification names only photos uploaded for its case; one its submitter may not see is as if none."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import transaction

from inspections.accounts.models import User
from inspections.cases.models import Case, CaseStatus, Rectification
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from tests.builders import YUCUN, inspection, open_case, responsible_party, submitted_inspection
from tests.conftest import assert_problem, client_for

pytestmark = pytest.mark.django_db

FAR_AWAY = (120.5, 31.5)  # tens of kilometres from the finding: an after-photo here would be flagged


def photo_row(*, by: User, gps: tuple[float, float] = FAR_AWAY, **owner: Any) -> Photo:
    """A processed photo of ``owner`` (``case=`` or ``inspection=``) taken at ``gps``."""
    return Photo.objects.create(
        client_uuid=uuid.uuid4(),
        uploaded_by=by,
        channel=Photo.Channel.MULTIPART,
        original="originals/photo.jpg",
        content_type="image/jpeg",
        size=1,
        sha256="0" * 64,
        status=Photo.Status.READY,
        gps_longitude=gps[0],
        gps_latitude=gps[1],
        purpose=Photo.Purpose.AFTER if "case" in owner else Photo.Purpose.EVIDENCE,
        **owner,
    )


def rectify(party: User, case: Case, photos: list[str], key: str | None = None) -> Any:
    return client_for(party).post(
        f"/api/v1/cases/{case.pk}/rectifications/",
        {"client_uuid": key or str(uuid.uuid4()), "description": "已清理垃圾", "photo_uuids": photos},
        format="json",
    )


@pytest.fixture
def party() -> User:
    return responsible_party("330523108")


def test_it_takes_the_cases_own_after_photos(party: User) -> None:
    case = open_case()
    own = photo_row(case=case, by=party)

    response = rectify(party, case, [str(own.client_uuid)])

    assert response.status_code == 201, response.content
    flags = Rectification.objects.get().flags
    assert [f["code"] for f in flags] == ["far_from_finding"]  # the case's own photo counts


def test_it_refuses_another_cases_photo_and_writes_nothing(party: User) -> None:
    case = open_case()
    other = open_case()
    foreign = photo_row(case=other, by=party)

    body = assert_problem(rectify(party, case, [str(foreign.client_uuid)]), 422, "photo_not_of_case")

    assert body["photos"] == [str(foreign.client_uuid)]
    assert not Rectification.objects.exists()
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


def test_it_refuses_an_inspections_photo_it_may_see(party: User) -> None:
    case = open_case()
    visit = submitted_inspection()
    evidence = photo_row(inspection=visit, by=party)

    assert_problem(rectify(party, case, [str(evidence.client_uuid)]), 422, "photo_not_of_case")
    assert not Rectification.objects.exists()


def test_a_photo_of_a_pending_visit_is_answered_as_if_there_were_none(party: User) -> None:
    """Same answer, same flags, as for a photo still to arrive; the pending visit's photo never counts."""
    case = open_case()
    key = str(uuid.uuid4())
    named = str(uuid.uuid4())

    def observe(hidden: bool) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        with transaction.atomic():
            if hidden:
                pending = inspection(village=YUCUN, status=Inspection.Status.IN_PROGRESS)
                photo = photo_row(inspection=pending, by=party)
                Photo.objects.filter(pk=photo.pk).update(client_uuid=named)
            response = rectify(party, case, [named], key=key)
            body = {k: v for k, v in response.json().items() if k != "created_at"}
            flags = list(Rectification.objects.values_list("flags", flat=True))
            transaction.set_rollback(True)
        return response.status_code, body, flags

    without, with_hidden = observe(False), observe(True)

    assert with_hidden == without
    assert without[0] == 201 and without[2] == [[]]
