"""Shared by the benchmarks: Django set-up, a 12-megapixel camera JPEG, the full-decode baseline.

Benchmarks are not collected by pytest (their files are not named ``test_*``);
run them with ``.venv/bin/python tests/benchmarks/bench_<name>.py``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def setup_django(database_url: str | None = None) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
    os.environ.setdefault("QINGSHAN_VAR_DIR", str(ROOT / "var" / "bench"))
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()


def camera_jpeg_12mp(*, noise: float = 16, blend: float = 0.2) -> bytes:
    """A 4000×3000 JPEG (quality 92) of shapes with sensor-like noise, and EXIF with GPS.

    The defaults give about 2.3 MB, a typical phone JPEG of 12 megapixels;
    ``noise=24, blend=0.25`` gives 3.7 MB, a grainy low-light shot. The cost
    of decoding a JPEG at any scale is dominated by its entropy (Huffman)
    decoding, which grows with the file's size, so both are measured.
    """
    from PIL import Image

    from tests.builders import camera_jpeg, picture

    base = picture(seed=7, size=(4000, 3000))
    grain = Image.effect_noise((4000, 3000), noise).convert("RGB")
    image = Image.blend(base, grain, blend)
    exif_donor = Image.open(io.BytesIO(camera_jpeg(gps=(119.6353, 30.537), size=(8, 8))))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif_donor.info["exif"])
    return out.getvalue()


# glibc's mallopt(3) parameters.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def set_allocator(*, keep_freed_memory: bool) -> bool:
    """Fix whether freed image memory stays in the process or goes back to the OS.

    A full decode of a 12-megapixel JPEG writes 48 MB of pixels into blocks
    of 16 MB. By default glibc decides from the process's history whether
    such blocks are mapped afresh for every image (and the kernel then zeroes
    every page of them on first touch, a third of the decode's time) or
    recycled from the heap, so the same decode measures 55 ms in one run and
    80 ms in the next. Fixing the choice makes the ratio repeatable.
    ``keep_freed_memory=True`` is the state of a busy worker and the one that
    makes the full decode fastest. False when the C library is not glibc.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    if keep_freed_memory:
        return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20) and mallopt(_M_TRIM_THRESHOLD, 1 << 30))
    return bool(mallopt(_M_MMAP_THRESHOLD, 1 << 20) and mallopt(_M_TRIM_THRESHOLD, 1 << 20))


def best_of(fn: Callable[[], object], *, repeat: int = 7) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass(frozen=True)
class Comparison:
    """Subject against baseline, batch by batch: each batch's fastest run of each."""

    batches: list[tuple[float, float]]

    @property
    def ratios(self) -> list[float]:
        return sorted(subject / baseline for subject, baseline in self.batches)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def subject(self) -> float:
        return statistics.median(subject for subject, _ in self.batches)

    @property
    def baseline(self) -> float:
        return statistics.median(baseline for _, baseline in self.batches)


def compare(
    subject: Callable[[], object], baseline: Callable[[], object], *, batches: int = 5, rounds: int = 9
) -> Comparison:
    """``subject`` and ``baseline`` run alternately, in batches.

    Alternating keeps other processes on a shared machine from landing on one
    side of the ratio only; each batch takes each side's fastest run; the
    median over batches keeps one slow stretch of the machine from deciding
    the figure.
    """
    subject(), baseline()
    results = []
    for _ in range(batches):
        subject_times, baseline_times = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            baseline()
            baseline_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            subject()
            subject_times.append(time.perf_counter() - start)
        results.append((min(subject_times), min(baseline_times)))
    return Comparison(results)


def full_decoder(data: bytes) -> Callable[[], None]:
    from PIL import Image

    def decode() -> None:
        with Image.open(io.BytesIO(data)) as image:
            image.load()

    return decode


def full_decode_seconds(data: bytes) -> float:
    return best_of(full_decoder(data))
