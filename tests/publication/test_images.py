"""The public copy of a photo: re-encoded, bounded in size, without metadata."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from inspections.publication.images import PUBLIC_IMAGE_MAX_SIDE, reencode_without_metadata

ORIENTATION = 0x0112
GPS_IFD = 0x8825


def camera_photo(width: int, height: int, *, orientation: int = 1) -> bytes:
    image = Image.new("RGB", (width, height), (120, 160, 90))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "Phone maker"  # Make
    exif.get_ifd(GPS_IFD)[2] = (30.0, 31.0, 13.2)  # GPSLatitude
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_it_drops_every_metadata_segment() -> None:
    original = camera_photo(800, 600)
    with Image.open(io.BytesIO(original)) as source:
        assert source.getexif().get_ifd(GPS_IFD)

    encoded, _width, _height = reencode_without_metadata(original)

    with Image.open(io.BytesIO(encoded)) as public:
        assert public.format == "JPEG"
        assert not public.getexif()
        assert "exif" not in public.info and "icc_profile" not in public.info
    assert b"Exif" not in encoded and b"Phone maker" not in encoded


def test_it_bounds_the_longer_side_and_keeps_the_proportions() -> None:
    encoded, width, height = reencode_without_metadata(camera_photo(4000, 3000))

    assert (width, height) == (PUBLIC_IMAGE_MAX_SIDE, 1200)
    with Image.open(io.BytesIO(encoded)) as public:
        assert public.size == (width, height)


def test_it_applies_the_orientation_before_dropping_it() -> None:
    # Orientation 6: the camera was turned, the picture is shown rotated by 90 degrees.
    _encoded, width, height = reencode_without_metadata(camera_photo(800, 600, orientation=6))

    assert (width, height) == (600, 800)


def test_it_refuses_bytes_that_are_no_image() -> None:
    with pytest.raises((OSError, ValueError)):
        reencode_without_metadata(b"not a photo")
