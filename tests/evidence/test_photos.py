"""Photo evidence: upload limits, processing, renditions, flags, access to originals."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image

from inspections.evidence import services as evidence
from inspections.evidence.flags import photo_flags_explained
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from tests import builders
from tests.builders import (
    YUCUN_WGS84,
    camera_jpeg,
    confirmed_village,
    fixture_bytes,
    process_all,
    responsible_party,
    supervisor,
    upload,
    user,
    village,
)
from tests.builders import flag_codes as codes
from tests.builders import inspector as team_member
from tests.conftest import assert_problem, client_for
from villages.models import Village

pytestmark = pytest.mark.django_db

CN = timezone.get_fixed_timezone(8 * 60)


@pytest.fixture
def field() -> tuple[Any, Inspection, Any]:
    """An inspector, their inspection of a confirmed village (window: an hour ago to 7 h ahead), a client."""
    member = team_member()
    inspection = builders.inspection(team=[member])
    return member, inspection, client_for(member.user)


def near(metres_north: float) -> tuple[float, float]:
    return (YUCUN_WGS84[0], YUCUN_WGS84[1] + metres_north / 111_195)


def send_and_process(client: Any, inspection: Inspection, content: bytes, **fields: Any) -> Photo:
    response = upload(client, inspection, content, **fields)
    assert response.status_code == 201, response.content
    process_all()
    return Photo.objects.get(client_uuid=response.json()["client_uuid"])


# --- limits and bad input ------------------------------------------------------------------------


def test_it_refuses_a_photo_over_the_size_limit_with_413(field: Any, settings: Any) -> None:
    _member, inspection, client = field
    settings.QINGSHAN_PHOTO_MAX_BYTES = 10_000

    response = upload(client, inspection, camera_jpeg(size=(800, 600)))

    body = assert_problem(response, 413, "photo_too_large")
    assert body["max_bytes"] == 10_000
    assert Photo.objects.count() == 0


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.7 not a photo at all", b"GIF89a" + bytes(100), b"<html><body>hi</body></html>", b"\x00" * 64],
)
def test_it_refuses_content_that_is_not_an_accepted_image_whatever_its_name(
    field: Any, content: bytes
) -> None:
    _member, inspection, client = field

    response = upload(client, inspection, content, name="evidence.jpg")

    assert_problem(response, 415, "unsupported_photo_type")


def test_it_refuses_the_200_megapixel_bomb_with_422(field: Any) -> None:
    _member, inspection, client = field

    response = upload(client, inspection, fixture_bytes("200MP.heic"), name="bomb.heic")

    body = assert_problem(response, 422, "photo_too_many_pixels")
    assert body["max_pixels"] > 0


def test_it_refuses_a_smaller_pixel_bomb_under_a_stricter_limit(field: Any, settings: Any) -> None:
    _member, inspection, client = field
    settings.QINGSHAN_PHOTO_MAX_PIXELS = 640 * 480 - 1

    response = upload(client, inspection, camera_jpeg(size=(640, 480)))

    assert_problem(response, 422, "photo_too_many_pixels")


def test_it_refuses_a_corrupt_heic_whose_header_cannot_be_read(field: Any) -> None:
    _member, inspection, client = field

    response = upload(client, inspection, fixture_bytes("corrupted.heic"), name="x.heic")

    assert_problem(response, 422, "photo_unreadable")


def test_it_keeps_a_truncated_jpeg_and_flags_it_damaged_with_its_exif(field: Any) -> None:
    _member, inspection, client = field
    content = fixture_bytes("ultrahdr.jpg")

    photo = send_and_process(client, inspection, content)

    assert "damaged" in codes(photo)
    assert (photo.make, photo.model) == ("Google", "Pixel 6")
    assert photo.taken_at_offset == "+08:00"
    assert not photo.thumbnail and not photo.preview
    with photo.original.open("rb") as original:
        assert original.read() == content


def test_empty_and_missing_files_are_field_errors(field: Any) -> None:
    _member, inspection, client = field

    missing = client.post(
        "/api/v1/photos/", {"client_uuid": str(uuid.uuid4()), "inspection": inspection.pk}, format="multipart"
    )
    empty = upload(client, inspection, b"")

    assert assert_problem(missing, 400, "validation_error")["errors"][0]["field"] == "file"
    assert_problem(empty, 400, "validation_error")


# --- storing and processing ----------------------------------------------------------------------


def test_it_stores_the_original_untouched_and_hashes_the_bytes_received(field: Any) -> None:
    _member, inspection, client = field
    content = camera_jpeg(gps=near(50), taken_at=timezone.now())

    photo = send_and_process(client, inspection, content)
    evidence.photo_process(photo_id=photo.pk)  # a second run changes nothing

    photo.refresh_from_db()
    assert photo.sha256 == hashlib.sha256(content).hexdigest()
    with photo.original.open("rb") as original:
        assert original.read() == content
    assert photo.status == Photo.Status.READY
    assert photo.content_type == "image/jpeg" and (photo.width, photo.height) == (640, 480)


def test_renditions_carry_no_exif_and_no_gps(field: Any) -> None:
    _member, inspection, client = field

    photo = send_and_process(
        client, inspection, camera_jpeg(gps=near(50), taken_at=timezone.now(), size=(2400, 1800))
    )

    for rendition in (photo.thumbnail, photo.preview):
        with rendition.open("rb") as handle:
            data = handle.read()
        assert b"Exif" not in data and b"GPS" not in data
        image = Image.open(io.BytesIO(data))
        assert not image.getexif()
    assert max(Image.open(photo.preview.open("rb")).size) <= settings.QINGSHAN_PHOTO_PREVIEW_EDGE
    assert max(Image.open(photo.thumbnail.open("rb")).size) <= settings.QINGSHAN_PHOTO_THUMBNAIL_EDGE


def test_it_processes_heic_from_iphone_and_xiaomi(field: Any) -> None:
    _member, inspection, client = field

    iphone = send_and_process(client, inspection, fixture_bytes("empty_icc.heic"), name="IMG_0001.HEIC")
    xiaomi = send_and_process(client, inspection, fixture_bytes("xiaomi.heic"), name="IMG_0002.HEIC")

    assert (iphone.content_type, iphone.make, iphone.model) == ("image/heic", "Apple", "iPhone XS")
    assert iphone.gps_accuracy_m == 65.0
    assert round(iphone.gps_latitude or 0, 4) == 46.7547
    assert (xiaomi.make, round(xiaomi.gps_longitude or 0, 3)) == ("Xiaomi", 39.700)
    assert iphone.preview and xiaomi.thumbnail and xiaomi.phash is not None


def test_a_replayed_photo_is_200_and_other_bytes_under_its_uuid_are_a_409(field: Any) -> None:
    _member, inspection, client = field
    photo_uuid = uuid.uuid4()
    content = camera_jpeg()

    first = upload(client, inspection, content, client_uuid=photo_uuid)
    again = upload(
        client, inspection, content, client_uuid=photo_uuid, device_time=timezone.now().isoformat()
    )
    other = upload(client, inspection, camera_jpeg(seed=9), client_uuid=photo_uuid)

    assert (first.status_code, again.status_code) == (201, 200)
    assert_problem(other, 409, "uuid_conflict")
    assert Photo.objects.count() == 1


def test_the_task_is_enqueued_on_commit_and_routed_to_the_media_queue(
    field: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from unittest import mock

    from config.celery import app

    _member, inspection, client = field
    with (
        mock.patch("inspections.evidence.tasks.photo_process.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = upload(client, inspection, camera_jpeg())

    photo = Photo.objects.get(client_uuid=response.json()["client_uuid"])
    assert apply_async.call_args.kwargs["args"] == (photo.pk,)
    assert app.amqp.router.route({}, "inspections.photo_process")["queue"].name == "media"


# --- evidence flags: real camera files -----------------------------------------------------------


REAL_FILES = {
    # file: flags expected on an inspection happening now at 余村 (confirmed location)
    "empty_icc.heic": {"far_from_village", "outside_window"},  # iPhone in Ukraine, 2021
    "xiaomi.heic": {"far_from_village", "outside_window"},  # Xiaomi in Russia, 2023
    "flower.jpg": {"no_gps", "outside_window"},  # Canon, 2003, no GPS
    "r_sony.jpg": {"no_gps", "outside_window"},  # Sony firmware "v1.00" is not an editor
    "exif_gps.jpg": {"no_gps", "outside_window", "edited"},  # garbage GPS, year 2099, Software "PIL"
    "empty_gps_ifd.jpg": {"no_gps", "outside_window"},  # empty GPS IFD
    "truncated.heic": {"no_exif", "no_gps"},
}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_camera_files_get_exactly_their_flags(field: Any, name: str) -> None:
    _member, inspection, client = field

    photo = send_and_process(client, inspection, fixture_bytes(name), name=name)

    assert codes(photo) == REAL_FILES[name]
    assert all(flag["explanation"] for flag in photo_flags_explained(photo))


def test_the_pixel_6_photo_taken_in_anji_during_the_visit_is_clean_apart_from_its_truncation() -> None:
    member = team_member()
    taken = datetime(2024, 5, 7, 9, 33, 4, tzinfo=CN)
    inspection = builders.inspection(
        team=[member],
        village=confirmed_village("330523108209", datum="wgs84", point=(119.7380, 30.6270)),
        window_start=taken - timedelta(hours=1),
    )
    client = client_for(member.user)
    Inspection.objects.filter(pk=inspection.pk).update(window_end=timezone.now() + timedelta(hours=1))

    photo = send_and_process(client, inspection, fixture_bytes("ultrahdr.jpg"))

    assert codes(photo) == {"damaged"}
    assert photo.distance_m is not None and photo.distance_m < 150


# --- evidence flags: generated photos with chosen position and time ------------------------------


def test_a_good_photo_has_no_flags(field: Any) -> None:
    _member, inspection, client = field

    photo = send_and_process(
        client,
        inspection,
        camera_jpeg(gps=near(200), taken_at=timezone.now(), software="MIUI Camera"),
        device_time=timezone.now().isoformat(),
    )

    assert codes(photo) == set()
    assert photo.distance_m is not None and 190 < photo.distance_m < 210


@pytest.mark.parametrize(("share_of_radius", "flagged"), [(0.9, False), (1.1, True), (25, True)])
def test_it_flags_gps_beyond_the_radius_only(field: Any, share_of_radius: float, flagged: bool) -> None:
    _member, inspection, client = field
    metres = settings.QINGSHAN_EVIDENCE_RADIUS_M * share_of_radius

    photo = send_and_process(
        client, inspection, camera_jpeg(seed=int(metres), gps=near(metres), taken_at=timezone.now())
    )

    assert codes(photo) == ({"far_from_village"} if flagged else set())


def test_no_far_flag_when_the_village_location_is_unknown() -> None:
    member = team_member()
    derived = village(
        "330523108299",
        longitude=119.0,
        latitude=30.0,
        datum="gcj02",
        location_source=Village.LocationSource.DERIVED,
    )
    inspection = builders.inspection(team=[member], village=derived)

    photo = send_and_process(
        client_for(member.user), inspection, camera_jpeg(gps=near(30_000), taken_at=timezone.now())
    )

    assert codes(photo) == set()
    assert photo.distance_m is None


@pytest.mark.parametrize(
    ("shift", "offset", "flagged"),
    [
        (timedelta(hours=-2.5), "+08:00", True),  # before the window, beyond the 2 h tolerance
        (timedelta(hours=-1.5), "+08:00", False),  # before the window, within tolerance
        (timedelta(hours=10.5), "+08:00", True),  # after the window's end (8 h) and tolerance
        (timedelta(hours=2), "+02:00", False),  # an offset other than China's, read correctly
        (timedelta(hours=2), None, False),  # no offset: read as China time
    ],
)
def test_it_flags_capture_times_outside_the_window_with_tolerance(
    field: Any, shift: timedelta, offset: str | None, flagged: bool
) -> None:
    _member, inspection, client = field

    content = camera_jpeg(gps=near(10), taken_at=inspection.window_start + shift, offset=offset)
    photo = send_and_process(client, inspection, content)

    assert codes(photo) == ({"outside_window"} if flagged else set())


@pytest.mark.parametrize(("minutes", "flagged"), [(5, False), (-5, False), (30, True), (-90, True)])
def test_it_flags_a_phone_clock_far_from_the_server(field: Any, minutes: int, flagged: bool) -> None:
    _member, inspection, client = field
    device_time = (timezone.now() + timedelta(minutes=minutes)).isoformat()

    photo = send_and_process(
        client,
        inspection,
        camera_jpeg(seed=minutes, gps=near(10), taken_at=timezone.now()),
        device_time=device_time,
    )

    assert codes(photo) == ({"clock_skew"} if flagged else set())


def test_it_flags_an_exact_duplicate_and_says_which_photo_and_village(field: Any) -> None:
    member, inspection, client = field
    elsewhere = builders.inspection(team=[member], village=confirmed_village("330523108220"))
    content = camera_jpeg(gps=near(10), taken_at=timezone.now())

    first = send_and_process(client, elsewhere, content)
    second = send_and_process(client, inspection, content)

    assert codes(first) == set()
    assert codes(second) == {"exact_duplicate"}
    facts = second.flags[0]["params"]
    assert facts["photo"] == str(first.client_uuid)
    assert facts["inspection"] == elsewhere.pk
    assert facts["village_code"] == "330523108220"
    assert str(first.client_uuid) in photo_flags_explained(second)[0]["explanation"]


def test_it_flags_a_near_duplicate_re_encoded_and_resized_and_says_which(field: Any) -> None:
    _member, inspection, client = field
    now = timezone.now()

    original = send_and_process(client, inspection, camera_jpeg(seed=42, gps=near(10), taken_at=now))
    copy = send_and_process(
        client, inspection, camera_jpeg(seed=42, gps=near(10), taken_at=now, quality=55, resize_to=(480, 360))
    )
    different = send_and_process(client, inspection, camera_jpeg(seed=43, gps=near(10), taken_at=now))

    assert codes(copy) == {"near_duplicate"}
    assert copy.flags[0]["params"]["photo"] == str(original.client_uuid)
    assert copy.flags[0]["params"]["distance"] <= 6
    assert "near_duplicate" not in codes(different)


@pytest.mark.parametrize(
    ("software", "flagged"),
    [
        ("Adobe Photoshop 25.0 (Windows)", True),
        ("Snapseed 2.0", True),
        ("PicsArt 21.0", True),
        ("HDR+ 1.0.621982163zd", False),
        ("14.6", False),
        ("MIUI Camera", False),
    ],
)
def test_it_flags_editing_software_only(field: Any, software: str, flagged: bool) -> None:
    _member, inspection, client = field

    photo = send_and_process(
        client,
        inspection,
        camera_jpeg(seed=len(software), gps=near(10), taken_at=timezone.now(), software=software),
    )

    assert codes(photo) == ({"edited"} if flagged else set())


def test_it_flags_a_photo_without_any_exif(field: Any) -> None:
    _member, inspection, client = field

    photo = send_and_process(client, inspection, camera_jpeg(exif=False))

    assert codes(photo) == {"no_exif", "no_gps"}


@pytest.mark.parametrize("accept", ["image/jpeg", "image/*", "image/webp,image/*;q=0.8", "*/*"])
def test_a_photo_file_is_served_whatever_image_type_the_client_accepts(field: Any, accept: str) -> None:
    """What an image loader sends (``Accept: image/jpeg``, ``image/*``) was refused with 406."""
    _member, inspection, client = field
    content = camera_jpeg(gps=near(10), taken_at=timezone.now())
    photo = send_and_process(client, inspection, content)
    base = f"/api/v1/photos/{photo.client_uuid}"

    original = client.get(f"{base}/original/", HTTP_ACCEPT=accept)
    thumbnail = client.get(f"{base}/thumbnail/", HTTP_ACCEPT=accept)
    missing = client.get(f"/api/v1/photos/{uuid.uuid4()}/thumbnail/", HTTP_ACCEPT=accept)

    assert original.status_code == 200 and original["Content-Type"] == "image/jpeg"
    assert b"".join(original.streaming_content) == content
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"
    assert_problem(missing, 404, "not_found")  # a refusal is still the problem document


# --- who gets the bytes --------------------------------------------------------------------------


def test_originals_go_only_to_authorised_callers_and_renditions_to_those_who_see_the_inspection(
    field: Any,
) -> None:
    _member, inspection, client = field
    content = camera_jpeg(gps=near(10), taken_at=timezone.now())
    photo = send_and_process(client, inspection, content)
    base = f"/api/v1/photos/{photo.client_uuid}"

    team_original = client.get(f"{base}/original/")
    before_submission = client_for(supervisor("3305")).get(f"{base}/preview/")
    inspection.status, inspection.submitted_at = Inspection.Status.SUBMITTED, timezone.now()
    inspection.save(update_fields=["status", "submitted_at"])
    supervisor_original = client_for(supervisor("330523")).get(f"{base}/original/")
    party = client_for(responsible_party("330523108"))
    party_preview = party.get(f"{base}/preview/")
    party_original = party.get(f"{base}/original/")
    stranger = client_for(user()).get(f"{base}/thumbnail/")

    assert team_original.status_code == 200
    assert b"".join(team_original.streaming_content) == content
    assert team_original["Cache-Control"] == "private, no-store"
    assert_problem(before_submission, 404, "not_found")  # embargoed until submitted
    assert supervisor_original.status_code == 200
    assert party_preview.status_code == 200 and party_preview["Content-Type"] == "image/jpeg"
    # The original the caller may not have is answered like a file that does not exist.
    assert_problem(party_original, 404, "not_found")
    assert_problem(stranger, 404, "not_found")


def test_the_photo_endpoint_shows_flags_with_explanations(field: Any) -> None:
    _member, inspection, client = field
    photo = send_and_process(client, inspection, camera_jpeg(exif=False))

    body = client.get(f"/api/v1/photos/{photo.client_uuid}/").json()

    assert {flag["code"] for flag in body["flags"]} == {"no_exif", "no_gps"}
    assert all(flag["explanation"] for flag in body["flags"])
    assert body["files"]["original"].endswith("/original/")
