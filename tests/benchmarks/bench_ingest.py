"""Photo ingest of a 12-megapixel JPEG against one plain full decode of the same file.

Ingest is everything the server does with the bytes: SHA-256 over them, then
processing (EXIF, a JPEG draft decode at the smallest DCT scale that still
gives the preview's size, preview and thumbnail re-encoded without EXIF,
perceptual hash). Target: ≤ 0.6× the full decode, for a typical phone JPEG.

    .venv/bin/python tests/benchmarks/bench_ingest.py
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.common import camera_jpeg_12mp, compare, full_decoder, setup_django

TARGET = 0.6


def measure(label: str, data: bytes) -> float:
    from inspections.services import imaging

    def ingest() -> None:
        hashlib.sha256(data).hexdigest()
        result = imaging.analyse(io.BytesIO(data))
        assert result.preview and result.thumbnail and result.phash is not None and result.exif.gps

    ingested, decode = compare(ingest, full_decoder(data))
    ratio = ingested / decode
    print(
        f"{label:<42} {len(data) / 1e6:4.1f} MB  full decode {decode * 1000:6.1f} ms  "
        f"ingest {ingested * 1000:6.1f} ms  ratio {ratio:.2f}"
    )
    return ratio


def main() -> int:
    setup_django()
    from django.conf import settings

    typical = camera_jpeg_12mp()
    grainy = camera_jpeg_12mp(noise=24, blend=0.25)
    edge = settings.QINGSHAN_PHOTO_PREVIEW_EDGE
    ratio = measure(f"typical 12-MP JPEG, preview {edge} px", typical)
    measure(f"grainy 12-MP JPEG, preview {edge} px", grainy)
    # For information: a 1,000 px preview needs a 1/4-scale decode of these files.
    settings.QINGSHAN_PHOTO_PREVIEW_EDGE = 1000
    measure("typical 12-MP JPEG, preview 1000 px", typical)
    settings.QINGSHAN_PHOTO_PREVIEW_EDGE = edge
    print(f"target: typical ≤ {TARGET} → {'met' if ratio <= TARGET else 'NOT met'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
