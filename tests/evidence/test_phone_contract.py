"""What phones really send: multi-picture JPEGs, flat pictures, unreadable capture times; the photo radius."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image, ImageStat

from inspections.evidence.flags import low_information, photo_flags_explained
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from tests import builders
from tests.builders import YUCUN_WGS84, camera_jpeg, confirmed_village, fixture_bytes, process_all, upload
from tests.builders import flag_codes as codes
from tests.builders import inspector as team_member
from tests.conftest import client_for
from tests.fieldwork.test_api import check_in_body

pytestmark = pytest.mark.django_db

CN = timezone.get_fixed_timezone(8 * 60)


@pytest.fixture
def field() -> tuple[Any, Inspection, Any]:
    member = team_member()
    inspection = builders.inspection(team=[member])
    return member, inspection, client_for(member.user)


def send_and_process(client: Any, inspection: Inspection, content: bytes, **fields: Any) -> Photo:
    response = upload(client, inspection, content, **fields)
    assert response.status_code == 201, response.content
    process_all()
    return Photo.objects.get(client_uuid=response.json()["client_uuid"])


def north_of_yucun(metres: float) -> tuple[float, float]:
    return (YUCUN_WGS84[0], YUCUN_WGS84[1] + metres / 111_195)


# --- multi-picture JPEGs (MPO): iPhone, Ultra HDR gain maps ---------------------------------------


def test_it_accepts_a_multi_picture_jpeg_keeps_it_whole_and_shows_its_first_picture() -> None:
    content = fixture_bytes("mpo_gain_map.jpg")  # two pictures: the photo, then a grey gain map
    with Image.open(io.BytesIO(content)) as probe:
        assert (probe.format, getattr(probe, "n_frames", 1)) == ("MPO", 2)
        first = probe.convert("RGB")
    member = team_member()
    taken = datetime(2024, 5, 7, 9, 33, 4, tzinfo=CN)
    inspection = builders.inspection(
        team=[member],
        village=confirmed_village("330523108209", datum="wgs84", point=(119.7380, 30.6270)),
        window_start=taken - timedelta(hours=1),
    )
    Inspection.objects.filter(pk=inspection.pk).update(window_end=timezone.now() + timedelta(hours=1))
    client = client_for(member.user)

    photo = send_and_process(client, inspection, content, name="IMG_0042.JPG")
    original: Any = client.get(f"/api/v1/photos/{photo.client_uuid}/original/")
    preview: Any = client.get(f"/api/v1/photos/{photo.client_uuid}/preview/")

    assert photo.status == Photo.Status.READY and photo.content_type == "image/jpeg"
    assert (photo.width, photo.height) == first.size
    assert photo.sha256 == hashlib.sha256(content).hexdigest() and photo.size == len(content)
    assert b"".join(original.streaming_content) == content  # both pictures, as received
    assert (photo.make, photo.model) == ("Apple", "iPhone 14 Pro Max")
    assert photo.taken_at == taken and photo.distance_m is not None and photo.distance_m < 150
    assert codes(photo) == set()
    with Image.open(io.BytesIO(b"".join(preview.streaming_content))) as shown:
        assert shown.size == first.size and shown.mode == "RGB"
        # The first picture's colours, not the grey gain map's.
        difference = [
            abs(a - b) for a, b in zip(ImageStat.Stat(shown).mean, ImageStat.Stat(first).mean, strict=True)
        ]
        assert max(difference) < 3


def test_it_accepts_a_gain_map_jpeg_made_like_ultra_hdr_over_tus_and_multipart_alike(field: Any) -> None:
    _member, inspection, client = field
    base = Image.open(io.BytesIO(camera_jpeg(gps=YUCUN_WGS84, taken_at=timezone.now())))
    gain_map = base.convert("L").resize((base.width // 4, base.height // 4))
    out = io.BytesIO()
    base.save(out, "MPO", save_all=True, append_images=[gain_map], exif=base.getexif())
    content = out.getvalue()

    photo = send_and_process(client, inspection, content)

    assert photo.status == Photo.Status.READY and (photo.width, photo.height) == base.size
    assert codes(photo) == set()


# --- flat pictures are no one's near duplicate ---------------------------------------------------


def flat_jpeg(colour: tuple[int, int, int]) -> bytes:
    base = Image.open(io.BytesIO(camera_jpeg(gps=YUCUN_WGS84, taken_at=timezone.now())))
    out = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(out, "JPEG", exif=base.getexif())
    return out.getvalue()


def test_solid_colour_photos_are_not_near_duplicates_of_each_other(field: Any) -> None:
    _member, inspection, client = field

    black = send_and_process(client, inspection, flat_jpeg((0, 0, 0)))
    grey = send_and_process(client, inspection, flat_jpeg((128, 128, 128)))
    green = send_and_process(client, inspection, flat_jpeg((40, 160, 60)))

    assert [codes(black), codes(grey), codes(green)] == [set(), set(), set()]
    for photo in (black, grey, green):
        assert photo.phash is not None and low_information(photo.phash & 0xFFFF_FFFF_FFFF_FFFF)


def test_a_real_picture_re_encoded_is_still_a_near_duplicate(field: Any) -> None:
    _member, inspection, client = field

    send_and_process(client, inspection, camera_jpeg(seed=7, gps=YUCUN_WGS84, taken_at=timezone.now()))
    again = send_and_process(
        client, inspection, camera_jpeg(seed=7, gps=YUCUN_WGS84, taken_at=timezone.now(), quality=60)
    )

    assert codes(again) == {"near_duplicate"}


@pytest.mark.parametrize(
    ("phash", "flat"),
    [
        (0, True),
        (1 << 63, True),
        (0x8000800080008000, True),
        (0xFFFF_FFFF_FFFF_FFFF, True),
        (0x0F0F_F0F0_3C3C_A5A5, False),
    ],
)
def test_low_information_hashes_are_those_with_few_bits_set_or_clear(phash: int, flat: bool) -> None:
    assert low_information(phash) is flat


# --- an EXIF capture time that cannot be read is said, not dropped --------------------------------


def jpeg_with_capture_time(raw: str) -> bytes:
    tags = Image.Exif()
    tags[271], tags[272] = "Xiaomi", "23127PN0CC"
    tags.get_ifd(0x8769)[36867] = raw
    gps = Image.open(io.BytesIO(camera_jpeg(gps=YUCUN_WGS84))).getexif().get_ifd(0x8825)
    tags.get_ifd(0x8825).update(gps)
    out = io.BytesIO()
    builders.picture(3).save(out, "JPEG", exif=tags.tobytes())
    return out.getvalue()


@pytest.mark.parametrize("raw", ["0000:00:00 00:00:00", "2024:13:45 25:61:00", "yesterday"])
def test_an_unreadable_capture_time_is_flagged_with_its_value(field: Any, raw: str) -> None:
    _member, inspection, client = field

    photo = send_and_process(client, inspection, jpeg_with_capture_time(raw))

    assert codes(photo) == {"capture_time_invalid"}
    [flag] = photo_flags_explained(photo)
    assert flag["facts"]["value"] == raw and raw in flag["explanation"]
    assert photo.taken_at is None


# --- QINGSHAN_EVIDENCE_RADIUS_M: photos have their own radius, wider than the check-in's -----------


def test_a_photo_between_the_geofence_and_the_evidence_radius_is_not_far_but_a_check_in_there_is(
    field: Any, settings: Any
) -> None:
    _member, inspection, client = field
    settings.QINGSHAN_GEOFENCE_RADIUS_M, settings.QINGSHAN_EVIDENCE_RADIUS_M = 1000, 1500
    position = north_of_yucun(1250)

    photo = send_and_process(client, inspection, camera_jpeg(gps=position, taken_at=timezone.now()))
    check_in = client.post(
        f"/api/v1/inspections/{inspection.pk}/check-in/",
        check_in_body(longitude=position[0], latitude=position[1]),
    )
    settings.QINGSHAN_EVIDENCE_RADIUS_M = 1200
    farther = send_and_process(client, inspection, camera_jpeg(seed=5, gps=position, taken_at=timezone.now()))

    assert codes(photo) == set()
    assert [f["code"] for f in check_in.json()["flags"]] == ["far_from_village"]
    assert codes(farther) == {"far_from_village"}
    [flag] = farther.flags
    assert flag["params"]["radius_m"] == 1200
