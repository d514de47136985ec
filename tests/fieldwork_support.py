"""Helpers for the field inspection and evidence tests: inspections, photos, storage.

Photos are either real camera files (``tests/fixtures/photos/``, see its
README) or generated here with chosen EXIF: position, capture time and offset,
software. Generated pictures are random shapes from a seed, so two seeds give
perceptually different photos and one seed re-encoded gives a near duplicate.
"""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from inspections.accounts.models import Inspector
from inspections.evidence import services as evidence
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from tests.factories import ProblemCategoryFactory, inspector, village
from villages.geo import wgs84_to_gcj02
from villages.models import Village

FIXTURES = Path(__file__).parent / "fixtures" / "photos"

# 余村 (Yucun), Anji: a point to put test villages on, WGS-84.
YUCUN_WGS84 = (119.6353, 30.5370)


@pytest.fixture(autouse=True)
def isolated_storage(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Originals, renditions and tus staging files of each test in its own folder."""
    media = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media), "base_url": None},
        },
        # Admin pages render without a collectstatic manifest in tests.
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.QINGSHAN_TUS_UPLOAD_DIR = tmp_path / "uploads"
    yield media


def confirmed_village(
    code: str = "330523108204", *, datum: str = "gcj02", point: tuple[float, float] | None = None
) -> Village:
    """A village with a confirmed location at ``point`` (WGS-84), stored in ``datum``."""
    lon, lat = point or YUCUN_WGS84
    if datum == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    return village(
        code, longitude=lon, latitude=lat, datum=datum, location_source=Village.LocationSource.CONFIRMED
    )


def make_inspection(
    *,
    team: list[Inspector] | None = None,
    village_obj: Village | None = None,
    start: datetime | None = None,
    hours: int = 8,
    **fields: Any,
) -> Inspection:
    start = start or timezone.now() - timedelta(hours=1)
    inspection = Inspection.objects.create(
        mode=fields.pop("mode", Inspection.Mode.UNANNOUNCED),
        village=village_obj or confirmed_village(),
        window_start=start,
        window_end=start + timedelta(hours=hours),
        **fields,
    )
    if team:
        inspection.team.set(team)
    return inspection


def team_member() -> Inspector:
    return inspector()


def category(code: str = "garbage-pile") -> Any:
    return ProblemCategoryFactory(code=code)


def dms(value: float) -> tuple[float, float, float]:
    """Degrees, minutes and seconds as a camera writes them (seconds to 1/10,000)."""
    total = round(value * 3600, 4)
    degrees, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return (int(degrees), int(minutes), round(seconds, 4))


def picture(seed: int = 0, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A picture of random shapes: the same seed draws the same picture."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1 = x0 + rng.randrange(size[0] // 16 + 1, size[0] // 2 + 2)
        y1 = y0 + rng.randrange(size[1] // 16 + 1, size[1] // 2 + 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
    return image


def camera_jpeg(
    *,
    seed: int = 0,
    gps: tuple[float, float] | None = None,
    gps_accuracy_m: float | None = 5.0,
    taken_at: datetime | None = None,
    offset: str | None = "+08:00",
    software: str | None = None,
    make: str = "Xiaomi",
    model: str = "23127PN0CC",
    exif: bool = True,
    quality: int = 90,
    size: tuple[int, int] = (640, 480),
    resize_to: tuple[int, int] | None = None,
) -> bytes:
    """A JPEG as a phone would write it, with exactly the EXIF asked for.

    ``taken_at`` is written as local time in ``offset`` (or in China time
    without an offset tag when ``offset`` is None).
    """
    image = picture(seed, size)
    if resize_to is not None:
        image = image.resize(resize_to, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if not exif:
        image.save(out, "JPEG", quality=quality)
        return out.getvalue()
    tags = Image.Exif()
    tags[271] = make
    tags[272] = model
    if software:
        tags[305] = software
    sub = tags.get_ifd(0x8769)
    if taken_at is not None:
        hours, minutes = (8, 0) if offset is None else (int(offset[1:3]), int(offset[4:6]))
        sign = -1 if offset is not None and offset.startswith("-") else 1
        local = taken_at.astimezone(timezone.get_fixed_timezone(sign * (hours * 60 + minutes)))
        sub[36867] = local.strftime("%Y:%m:%d %H:%M:%S")
        if offset is not None:
            sub[36881] = offset
    if gps is not None:
        lon, lat = gps
        gps_ifd = tags.get_ifd(0x8825)
        gps_ifd[1] = "N" if lat >= 0 else "S"
        gps_ifd[2] = dms(abs(lat))
        gps_ifd[3] = "E" if lon >= 0 else "W"
        gps_ifd[4] = dms(abs(lon))
        if gps_accuracy_m is not None:
            gps_ifd[31] = gps_accuracy_m
    image.save(out, "JPEG", quality=quality, exif=tags.tobytes())
    return out.getvalue()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def upload(
    client: Any,
    inspection: Inspection,
    content: bytes,
    *,
    client_uuid: uuid.UUID | str | None = None,
    name: str = "photo.jpg",
    **fields: Any,
) -> Any:
    """POST photos/ (multipart) as the phone does."""
    data = {
        "file": SimpleUploadedFile(name, content, content_type="application/octet-stream"),
        "client_uuid": str(client_uuid or uuid.uuid4()),
        "inspection": inspection.pk,
        **{key: value for key, value in fields.items() if value is not None},
    }
    return client.post("/api/v1/photos/", data, format="multipart")


def process_all() -> list[Photo]:
    """Run the processing task's service on every waiting photo, oldest first (as one worker would)."""
    done = []
    for photo_id in (
        Photo.objects.filter(status=Photo.Status.RECEIVED).order_by("pk").values_list("pk", flat=True)
    ):
        processed = evidence.photo_process(photo_id=photo_id)
        assert processed is not None
        done.append(processed)
    return done


def codes(photo: Photo) -> set[str]:
    photo.refresh_from_db()
    return set(photo.flag_codes)


def fresh_uuid() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def wsgi_server() -> Iterator[tuple[str, int]]:
    """A real threaded HTTP server running the project (for real clients over real sockets).

    pytest-django's ``live_server`` wraps the app in a media handler that
    cannot run with ``MEDIA_URL = None`` (no public media), so this starts
    Django's own threaded server directly, sharing an in-memory SQLite
    connection with the test as ``LiveServerThread`` does.
    """
    import threading

    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.db import connections

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    override = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}  # type: ignore[attr-defined]
    for connection in override.values():
        connection.inc_thread_sharing()
    server = ThreadedWSGIServer(
        ("127.0.0.1", 0), QuietHandler, allow_reuse_address=False, connections_override=override
    )
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        for connection in override.values():
            connection.dec_thread_sharing()
