"""Image forensics without the database: sniffing, EXIF, perceptual hash, renditions.

Speed matters here (a 12-megapixel photo must cost less than one full decode):
JPEGs are decoded with libjpeg-turbo's DCT scaling straight to the preview's
size (by simplejpeg, from one buffer; by Pillow's ``Image.draft`` for what
simplejpeg refuses), and the thumbnail and the perceptual hash are computed
from the preview. What remains of the cost is libjpeg reading every
coefficient of the file, which no scale can skip. Renditions are re-encoded
from pixels only: no EXIF, no GPS, no XMP (the ICC profile is kept so that
colours stay right).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from io import BytesIO
from typing import IO, Any

import imagehash
import pillow_heif
import simplejpeg
from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()

# Pillow refuses (raises) above twice this and warns above it; our own,
# clearer limit (422 photo_too_many_pixels) is checked on the header first.
Image.MAX_IMAGE_PIXELS = settings.QINGSHAN_PHOTO_MAX_PIXELS

# What each accepted content type is called by Pillow, and its file extension.
ACCEPTED_TYPES = {
    "image/jpeg": ("JPEG", ".jpg"),
    "image/png": ("PNG", ".png"),
    "image/webp": ("WEBP", ".webp"),
    "image/heic": ("HEIF", ".heic"),
    "image/heif": ("HEIF", ".heif"),
}
# Pillow calls a JPEG with more than one image in its MPF segment (CIPA DC-007) "MPO": iPhone
# multi-picture files (HDR gain map, depth), Ultra HDR photos (gain map), stereo cameras. The
# first image is the photo, a complete JPEG at the start of the file; the original is kept whole.
_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG"}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2"}
SNIFF_BYTES = 32

# Errors Pillow and its plugins raise on bad image data.
IMAGE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, RuntimeError)

EXIF_IFD = 0x8769
GPS_IFD = 0x8825


def sniff_content_type(head: bytes) -> str | None:
    """The image type the first bytes announce (magic numbers), whatever the file is called."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _HEIF_BRANDS:
            return "image/heif"
    return None


class HeaderError(Exception):
    """The header cannot be parsed, or is not of the type the first bytes announced."""


class TooManyPixels(HeaderError):
    """The header announces more than ``QINGSHAN_PHOTO_MAX_PIXELS`` (a decompression bomb)."""


def read_header(fileobj: IO[bytes], *, content_type: str) -> tuple[int, int]:
    """Width and height from the header alone (nothing is decoded).

    Raises :class:`TooManyPixels` for a decompression bomb, :class:`HeaderError`
    for a header that is not parseable or not of the announced type.
    """
    try:
        with Image.open(fileobj) as image:
            width, height = image.size
            fmt = _FORMATS.get(image.format or "", image.format)
    except Image.DecompressionBombError as exc:
        raise TooManyPixels from exc
    except (UnidentifiedImageError, *IMAGE_ERRORS) as exc:
        raise HeaderError from exc
    if fmt != ACCEPTED_TYPES[content_type][0]:
        raise HeaderError
    if width * height > settings.QINGSHAN_PHOTO_MAX_PIXELS:
        raise TooManyPixels
    return width, height


@dataclass
class ExifFacts:
    has_exif: bool = False
    taken_at_local: str = ""  # "YYYY:MM:DD HH:MM:SS" as the file says
    taken_at_offset: str = ""  # "+08:00" when the file says
    taken_at: datetime | None = None  # aware; the default offset when the file has none
    taken_at_invalid: str = ""  # the raw value, when there was one and it made no sense
    gps: tuple[float, float] | None = None  # (longitude, latitude), WGS-84
    gps_invalid: bool = False  # a GPS block was present but unusable
    gps_accuracy_m: float | None = None
    gps_altitude_m: float | None = None
    make: str = ""
    model: str = ""
    software: str = ""


@dataclass
class Analysis:
    width: int
    height: int
    exif: ExifFacts
    damaged: bool = False
    phash: int | None = None  # unsigned 64-bit
    thumbnail: bytes | None = None
    preview: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _text(value: Any, limit: int) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "").strip()[:limit]


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _dms(value: Any) -> float | None:
    try:
        degrees, minutes, seconds = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(result) or min(degrees, minutes, seconds) < 0 or minutes >= 60 or seconds >= 60:
        return None
    return result


def _parse_offset(value: str) -> timezone | None:
    if len(value) != 6 or value[0] not in "+-" or value[3] != ":":
        return None
    try:
        hours, minutes = int(value[1:3]), int(value[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes >= 60:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(delta if value[0] == "+" else -delta)


def read_exif(image: Image.Image) -> ExifFacts:
    """What the file's EXIF says, defensively: garbage values become "unknown", never errors."""
    facts = ExifFacts()
    try:
        exif = image.getexif()
        sub = exif.get_ifd(EXIF_IFD)
        gps = exif.get_ifd(GPS_IFD)
    except IMAGE_ERRORS:
        return facts
    facts.has_exif = bool(len(exif) or sub or gps)
    if not facts.has_exif:
        return facts
    facts.make = _text(exif.get(271), 100)
    facts.model = _text(exif.get(272), 100)
    facts.software = _text(exif.get(305), 200)

    raw_time = _text(sub.get(36867) or exif.get(306), 40)
    raw_offset = _text(sub.get(36881) or sub.get(36880), 10)
    if raw_time:
        try:
            local = datetime.strptime(raw_time[:19], "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007 - camera local time
        except ValueError:
            facts.taken_at_invalid = raw_time
        else:
            facts.taken_at_local = raw_time[:19]
            tz = _parse_offset(raw_offset)
            if tz is not None:
                facts.taken_at_offset = raw_offset
            else:
                tz = _parse_offset(settings.QINGSHAN_EXIF_DEFAULT_OFFSET)
            facts.taken_at = local.replace(tzinfo=tz)

    if gps:
        latitude, longitude = _dms(gps.get(2)), _dms(gps.get(4))
        lat_ref, lon_ref = _text(gps.get(1), 2).upper(), _text(gps.get(3), 2).upper()
        valid = (
            latitude is not None
            and longitude is not None
            and lat_ref in ("N", "S")
            and lon_ref in ("E", "W")
            and latitude <= 90
            and longitude <= 180
            and (latitude, longitude) != (0.0, 0.0)
        )
        if valid:
            assert latitude is not None and longitude is not None
            facts.gps = (
                -longitude if lon_ref == "W" else longitude,
                -latitude if lat_ref == "S" else latitude,
            )
            accuracy = _number(gps.get(31))
            facts.gps_accuracy_m = accuracy if accuracy is not None and accuracy >= 0 else None
            altitude = _number(gps.get(6))
            if altitude is not None:
                below = gps.get(5) in (1, b"\x01")
                facts.gps_altitude_m = -altitude if below else altitude
        else:
            facts.gps_invalid = any(key in gps for key in (1, 2, 3, 4))
    return facts


def draft_box(width: int, height: int, edge: int) -> tuple[int, int]:
    """The smallest size libjpeg may scale to (1/2, 1/4, 1/8) that keeps ``edge`` on the long side."""
    scale = 1
    for candidate in (8, 4, 2):
        if max(width, height) // candidate >= edge:
            scale = candidate
            break
    return max(1, width // scale), max(1, height // scale)


def decode_jpeg_reduced(data: bytes, box: tuple[int, int], mode: str) -> Image.Image | None:
    """The JPEG decoded by libjpeg-turbo to the smallest DCT scale that covers ``box``.

    simplejpeg decodes from one buffer in one call; Pillow feeds libjpeg in
    64 KB pieces and suspends it at each, which costs a few per cent on a
    12-megapixel file and more on a grainy one. The pixels are written as
    RGBX (or L), Pillow's own layout, so the image wraps them without a copy.
    ``None`` when simplejpeg refuses the file: a colour space it does not
    convert (CMYK), or any libjpeg warning (a truncated or corrupt stream,
    ``strict``). Pillow then decodes it and decides whether it is damaged, as
    for every other format.
    """
    layout = {"RGB": "RGBX", "L": "L"}.get(mode)
    if layout is None:
        return None
    try:
        pixels = simplejpeg.decode_jpeg(
            data,
            colorspace="GRAY" if layout == "L" else layout,
            fastdct=True,
            fastupsample=True,
            min_width=box[0],
            min_height=box[1],
            strict=True,
        )
    except IMAGE_ERRORS:  # simplejpeg raises ValueError; anything else, Pillow judges too
        return None
    height, width = pixels.shape[:2]
    return Image.frombuffer(layout, (width, height), pixels, "raw", layout, 0, 1)


def _encode_jpeg(image: Image.Image, *, icc: bytes | None) -> bytes:
    out = BytesIO()
    kwargs: dict[str, Any] = {"quality": 82, "optimize": False}
    if icc:
        kwargs["icc_profile"] = icc
    image.save(out, "JPEG", **kwargs)
    return out.getvalue()


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def phash_bands(phash: int) -> tuple[int, int, int, int]:
    """The four 16-bit bands of an unsigned 64-bit hash (the near-duplicate index)."""
    return tuple((phash >> (16 * i)) & 0xFFFF for i in range(4))  # type: ignore[return-value]


def phash_to_db(phash: int) -> int:
    return _signed64(phash)


def phash_from_db(value: int) -> int:
    return value & 0xFFFF_FFFF_FFFF_FFFF


def perceptual_hash(image: Image.Image) -> int:
    """The 64-bit DCT perceptual hash (imagehash's pHash) as an unsigned integer.

    imagehash resamples to a 32×32 grid with a Lanczos filter, whose cost
    grows with the input; a box reduce first, to no less than twice the grid
    on the short side, does most of that work for a fraction of the time.
    """
    factor = max(1, min(image.size) // 64)
    bits = imagehash.phash(image.reduce(factor) if factor > 1 else image).hash.flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def analyse(fileobj: IO[bytes]) -> Analysis:
    """EXIF, renditions and perceptual hash of an image file, with one reduced decode.

    A file whose pixels cannot be decoded (truncated, corrupt) is reported as
    ``damaged`` with whatever EXIF it has, and no renditions. The file is read
    into memory once (originals are capped at ``QINGSHAN_PHOTO_MAX_BYTES``).
    """
    thumb_edge = settings.QINGSHAN_PHOTO_THUMBNAIL_EDGE
    preview_edge = settings.QINGSHAN_PHOTO_PREVIEW_EDGE
    data = fileobj.read()
    with Image.open(BytesIO(data)) as image:
        width, height = image.size
        facts = read_exif(image)
        icc = image.info.get("icc_profile")
        orientation = 1
        try:
            orientation = int(image.getexif().get(0x0112, 1))
        except (*IMAGE_ERRORS,):
            orientation = 1
        result = Analysis(width=width, height=height, exif=facts)
        try:
            decoded = None
            if _FORMATS.get(image.format or "") == "JPEG":  # an MPO's first frame is where it starts
                box = draft_box(width, height, preview_edge)
                decoded = decode_jpeg_reduced(data, box, image.mode)
                if decoded is None:
                    image.draft("RGB", box)
            if decoded is None:
                image.load()
                decoded = image
            # The decoded image is ours alone: resize it in place, no copies.
            preview: Image.Image = decoded if decoded.mode in ("RGB", "RGBX", "L") else decoded.convert("RGB")
            preview.thumbnail((preview_edge, preview_edge), Image.Resampling.BILINEAR, reducing_gap=None)
            if orientation != 1:
                preview.getexif()[0x0112] = orientation
                preview = ImageOps.exif_transpose(preview)
            preview.info.clear()
            # A box reduce by an integer factor (a few hundred microseconds,
            # against a millisecond or more for resampling the preview). When a
            # factor lands within 5 % under the thumbnail edge it is the whole
            # job (a 500 px preview gives a 250 px thumbnail); otherwise reduce
            # to just above the edge and resize the rest.
            long_edge = max(preview.size)
            factor = -(-long_edge // thumb_edge)
            if long_edge / factor < 0.95 * thumb_edge:
                factor = max(1, long_edge // thumb_edge)
            thumbnail = preview.reduce(factor) if factor > 1 else preview.copy()
            thumbnail.thumbnail((thumb_edge, thumb_edge), Image.Resampling.BILINEAR)
            thumbnail.info.clear()
        except IMAGE_ERRORS:
            result.damaged = True
            return result
    result.preview = _encode_jpeg(preview, icc=icc if isinstance(icc, bytes) else None)
    result.thumbnail = _encode_jpeg(thumbnail, icc=icc if isinstance(icc, bytes) else None)
    result.phash = perceptual_hash(thumbnail)
    return result
