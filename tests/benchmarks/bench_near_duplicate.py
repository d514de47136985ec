"""Near-duplicate lookup of one photo against 1,000,000 stored perceptual hashes.

The hashes live in the ``Photo`` table with their four 16-bit bands indexed
(multi-index hashing, see ``inspections.evidence.flags.near_duplicates``).
The benchmark fills a fresh database (SQLite in a temporary folder by default;
``DATABASE_URL`` for PostgreSQL) with a million random hashes plus a few planted
near copies, then times lookups against one full decode of a 12-MP JPEG.
Target: ≤ 0.5×.

    .venv/bin/python tests/benchmarks/bench_near_duplicate.py [--rows N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.common import camera_jpeg_12mp, full_decode_seconds, set_allocator, setup_django

TARGET = 0.5


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="qs-bench-")
    setup_django(os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3")

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from inspections.evidence import imaging
    from inspections.evidence.flags import near_duplicates
    from inspections.models import Photo, User
    from tests.builders import inspection as make_inspection

    call_command("migrate", verbosity=0)
    owner, _ = User.objects.get_or_create(username="bench")
    Photo.objects.all().delete()
    inspection = make_inspection()  # every photo belongs to an inspection or a case
    rng = random.Random(1)
    table = Photo._meta.db_table
    columns = [
        "client_uuid", "inspection_id", "purpose", "uploaded_by_id", "channel",
        "original", "original_name", "content_type", "size", "sha256", "received_at",
        "status", "processing_error", "has_exif", "taken_at_local", "taken_at_offset",
        "make", "model", "software", "thumbnail", "preview", "flags",
        "phash", "phash_band0", "phash_band1", "phash_band2", "phash_band3",
    ]  # fmt: skip
    # Table and column names come from the model, not from input.
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
    now = timezone.now()
    query = rng.getrandbits(64)

    def row(phash: int) -> tuple[Any, ...]:
        bands = imaging.phash_bands(phash)
        return (
            uuid.uuid4().hex if connection.vendor == "sqlite" else str(uuid.uuid4()), inspection.pk,
            "evidence", owner.pk, "multipart",
            "x", "", "image/jpeg", 1, "0" * 64, now,
            "ready", "", True, "", "",
            "", "", "", "", "", "[]",
            imaging.phash_to_db(phash), *bands,
        )  # fmt: skip

    started: float = time.perf_counter()
    batch = 20_000
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, args.rows, batch):
            cursor.executemany(sql, [row(rng.getrandbits(64)) for _ in range(min(batch, args.rows - start))])
        planted = [
            query ^ (1 << 3),
            query ^ (1 << 17) ^ (1 << 40),
            query ^ 0b111 << 50,
        ]  # 1, 2 and 3 bits away
        cursor.executemany(sql, [row(h) for h in planted])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    elapsed = time.perf_counter() - started
    print(f"stored {args.rows + len(planted):,} hashes in {elapsed:.0f} s ({connection.vendor})")

    found = near_duplicates(phash=query, max_distance=6)
    assert sorted(distance for _pk, distance in found)[:3] == [1, 2, 3], found

    times = []
    for _ in range(21):
        probe = rng.getrandbits(64)
        began = time.perf_counter()
        near_duplicates(phash=probe, max_distance=6)
        times.append(time.perf_counter() - began)
    lookup = statistics.median(times)
    set_allocator(keep_freed_memory=True)  # the full decode's fastest state, as in bench_ingest
    decode = full_decode_seconds(camera_jpeg_12mp())
    ratio = lookup / decode
    print(f"lookup (median of 21, threshold 6 bits): {lookup * 1000:6.1f} ms")
    print(f"full decode of a 12-MP JPEG:            {decode * 1000:6.1f} ms")
    print(f"ratio: {ratio:.2f}  (target ≤ {TARGET})")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
