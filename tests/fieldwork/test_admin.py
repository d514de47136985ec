"""The inspection review admin: flags, thumbnails, authorised downloads, embargo."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from tests import builders
from tests.builders import camera_jpeg, process_all, supervisor, upload, user
from tests.builders import inspector as team_member
from tests.conftest import client_for
from villages.models import Village

pytestmark = pytest.mark.django_db


def admin_client(account: Any) -> Client:
    client = Client()
    client.force_login(account)
    return client


@pytest.fixture
def submitted() -> tuple[Inspection, Photo]:
    member = team_member()
    inspection = builders.inspection(team=[member])
    upload(client_for(member.user), inspection, camera_jpeg(exif=False))
    process_all()
    client_for(member.user).post(
        f"/api/v1/inspections/{inspection.pk}/check-in/",
        {
            "client_uuid": "5b6b3c52-3b9e-4f0c-9a53-0a0c1f7e2d11",
            "longitude": 119.6353,
            "latitude": 30.537,
            "accuracy_m": 4,
            "device_time": timezone.now().isoformat(),
        },
    )
    Inspection.objects.filter(pk=inspection.pk).update(status="submitted", submitted_at=timezone.now())
    return inspection, Photo.objects.get()


def test_a_supervisor_reviews_flags_thumbnails_and_downloads_the_original(submitted: Any) -> None:
    inspection, photo = submitted
    client = admin_client(supervisor("330523"))

    page = client.get(f"/admin/inspections/inspection/{inspection.pk}/change/")
    thumbnail = client.get(f"/admin/inspections/inspection/photo/{photo.client_uuid}/thumbnail/")
    original = client.get(f"/admin/inspections/inspection/photo/{photo.client_uuid}/original/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "no_exif" in html and "no_gps" in html
    assert f"photo/{photo.client_uuid}/thumbnail/" in html
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"
    assert original.status_code == 200 and original["Content-Disposition"].startswith("attachment")


def test_supervisors_elsewhere_see_nothing_and_nothing_before_submission(submitted: Any) -> None:
    inspection, photo = submitted
    elsewhere = admin_client(supervisor("330521"))
    Inspection.objects.filter(pk=inspection.pk).update(status="in_progress", submitted_at=None)
    local = admin_client(supervisor("330523"))

    for client in (elsewhere, local):
        assert client.get(f"/admin/inspections/inspection/{inspection.pk}/change/").status_code == 302
        assert (
            client.get(f"/admin/inspections/inspection/photo/{photo.client_uuid}/original/").status_code
            == 404
        )


def test_a_supervisor_confirms_the_village_location_from_a_check_in(submitted: Any) -> None:
    inspection, _photo = submitted
    client = admin_client(supervisor("330523"))
    check_in = inspection.check_ins.get()

    response = client.post(
        "/admin/inspections/checkin/",
        {"action": "confirm_village_location", "_selected_action": [check_in.pk]},
    )

    assert response.status_code == 302
    inspection.village.refresh_from_db()
    assert inspection.village.location_source == Village.LocationSource.CONFIRMED
    assert inspection.village.datum == "wgs84"


def test_non_staff_accounts_cannot_reach_the_review(submitted: Any) -> None:
    inspection, _photo = submitted

    response = admin_client(user()).get(f"/admin/inspections/inspection/{inspection.pk}/change/")

    assert response.status_code == 302


def test_a_refused_confirmation_is_told_in_the_readers_language_not_by_its_code(submitted: Any) -> None:
    inspection, _photo = submitted
    check_in = inspection.check_ins.get()
    check_in.accuracy_m = 400
    check_in.save(update_fields=["accuracy_m"])
    village = inspection.village
    before = (village.longitude, village.latitude, village.datum)
    client = admin_client(supervisor("330523"))

    response = client.post(
        "/admin/inspections/checkin/",
        {"action": "confirm_village_location", "_selected_action": [check_in.pk]},
        follow=True,
        headers={"accept-language": "zh-hans"},
    )

    html = response.content.decode()
    assert "只有精度在 30.0 米以内的签到才能确认村的位置。" in html
    assert "check_in_not_accurate" not in html
    village.refresh_from_db()
    assert (village.longitude, village.latitude, village.datum) == before
