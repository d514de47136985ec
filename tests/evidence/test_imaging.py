"""Image analysis without the database: the reduced JPEG decode, its fallback, renditions, pHash."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from inspections.evidence import imaging
from tests.builders import camera_jpeg, fixture_bytes, picture


def jpeg(image: Image.Image, **save: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **save)
    return out.getvalue()


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def rendition(data: bytes | None) -> Image.Image:
    assert data is not None
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture
def edges(settings: Any) -> tuple[int, int]:
    settings.QINGSHAN_PHOTO_PREVIEW_EDGE = 500
    settings.QINGSHAN_PHOTO_THUMBNAIL_EDGE = 256
    return 500, 256


def test_a_large_jpeg_is_decoded_at_one_eighth_scale_without_pillow(edges: Any) -> None:
    data = jpeg(picture(seed=3, size=(4000, 3000)))

    decoded = imaging.decode_jpeg_reduced(data, imaging.draft_box(4000, 3000, 500), "RGB")

    assert decoded is not None and decoded.size == (500, 375)
    result = imaging.analyse(io.BytesIO(data))
    assert rendition(result.preview).size == (500, 375)
    assert rendition(result.thumbnail).size == (250, 188)


def test_the_fast_decode_and_pillows_draft_give_the_same_picture(edges: Any) -> None:
    data = jpeg(picture(seed=5, size=(4000, 3000)))
    box = imaging.draft_box(4000, 3000, 500)

    fast = imaging.decode_jpeg_reduced(data, box, "RGB")
    with Image.open(io.BytesIO(data)) as slow:
        slow.draft("RGB", box)
        slow.load()
        slow_hash = imaging.perceptual_hash(slow.convert("RGB"))

    assert fast is not None
    assert fast.size == slow.size
    assert hamming(imaging.perceptual_hash(fast), slow_hash) <= 2


def test_a_truncated_jpeg_is_refused_by_the_fast_decode_and_reported_damaged(edges: Any) -> None:
    data = camera_jpeg(gps=(119.6, 30.5), size=(2000, 1500))
    cut = data[: len(data) * 2 // 3]

    assert imaging.decode_jpeg_reduced(cut, (500, 375), "RGB") is None
    result = imaging.analyse(io.BytesIO(cut))

    assert result.damaged and result.preview is None and result.phash is None
    assert result.exif.gps is not None and result.exif.make == "Xiaomi"


def test_a_real_truncated_camera_file_is_still_damaged() -> None:
    result = imaging.analyse(io.BytesIO(fixture_bytes("ultrahdr.jpg")))

    assert result.damaged and (result.exif.make, result.exif.model) == ("Google", "Pixel 6")


def test_a_cmyk_jpeg_falls_back_to_pillow_and_gets_rgb_renditions(edges: Any) -> None:
    data = jpeg(picture(seed=9, size=(1600, 1200)).convert("CMYK"))

    assert imaging.decode_jpeg_reduced(data, (800, 600), "CMYK") is None
    result = imaging.analyse(io.BytesIO(data))

    assert not result.damaged and result.phash is not None
    preview = rendition(result.preview)
    assert preview.mode == "RGB" and max(preview.size) == 500


def test_a_greyscale_jpeg_stays_greyscale(edges: Any) -> None:
    data = jpeg(picture(seed=2, size=(2000, 1500)).convert("L"))

    result = imaging.analyse(io.BytesIO(data))

    preview = rendition(result.preview)
    assert preview.mode == "L" and preview.size == (500, 375)
    assert result.phash is not None


@pytest.mark.parametrize(
    ("orientation", "size"), [(1, (500, 375)), (6, (375, 500)), (8, (375, 500)), (3, (500, 375))]
)
def test_renditions_are_turned_upright_by_the_exif_orientation(
    edges: Any, orientation: int, size: tuple[int, int]
) -> None:
    tags = Image.Exif()
    tags[0x0112] = orientation
    data = jpeg(picture(seed=4, size=(2000, 1500)), exif=tags.tobytes())

    result = imaging.analyse(io.BytesIO(data))

    assert rendition(result.preview).size == size
    assert not rendition(result.preview).getexif()


def test_a_rotated_copy_is_not_mistaken_for_the_upright_photo(edges: Any) -> None:
    """The orientation is applied before hashing: the same pixels shown sideways hash differently."""
    upright = jpeg(picture(seed=4, size=(2000, 1500)))
    tags = Image.Exif()
    tags[0x0112] = 6
    sideways = jpeg(picture(seed=4, size=(2000, 1500)), exif=tags.tobytes())

    a = imaging.analyse(io.BytesIO(upright)).phash
    b = imaging.analyse(io.BytesIO(sideways)).phash

    assert a is not None and b is not None and hamming(a, b) > 10


def test_a_small_and_a_progressive_jpeg_are_decoded_whole(edges: Any) -> None:
    small = imaging.analyse(io.BytesIO(jpeg(picture(seed=1, size=(320, 240)))))
    progressive = imaging.analyse(io.BytesIO(jpeg(picture(seed=1, size=(3000, 4000)), progressive=True)))

    assert rendition(small.preview).size == (320, 240)
    assert rendition(progressive.preview).size == (375, 500)
    assert rendition(progressive.thumbnail).size == (188, 250)


def test_a_re_encoded_and_resized_copy_hashes_near_the_original(edges: Any) -> None:
    original = picture(seed=8, size=(4000, 3000))
    copy = original.resize((1600, 1200), Image.Resampling.LANCZOS)

    a = imaging.analyse(io.BytesIO(jpeg(original))).phash
    b = imaging.analyse(io.BytesIO(jpeg(copy, subsampling=0))).phash
    other = imaging.analyse(io.BytesIO(jpeg(picture(seed=9, size=(4000, 3000))))).phash

    assert a is not None and b is not None and other is not None
    assert hamming(a, b) <= 4 < hamming(a, other)
