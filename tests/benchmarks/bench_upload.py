"""The photo upload under 50 concurrent phones against a bare view that only streams the body to a file.

Both are served by one server process tree, started from the Procfile's own
``web`` command line (the production process model and settings), with
``QINGSHAN_BENCHMARK_BARE_UPLOAD=1`` so that ``/benchmark/bare-upload/``
(:mod:`config.benchmark`) is routed. Each round sends 50 requests at once,
each on its own connection, carrying the same multipart body (a typical
12-megapixel phone JPEG of 2.3 MB, a fresh ``client_uuid`` each): a round to
the bare view, then a round to ``POST /api/v1/photos/``, alternately, so
that other processes on a shared machine land on both sides. A round's
figure is its median (p50) request time; the ratio is product over bare per
pair of rounds, and the figure printed is the median over pairs (the range in
brackets). Every answer must be 201. Target: ratio ≤ 2.

Processing runs after the upload, in the Celery worker: by default none is
started (the web path alone); ``--worker`` starts one worker on the media
queue, as in ``make run``, so that processing competes for the same cores.

    .venv/bin/python tests/benchmarks/bench_upload.py [--worker] [--pairs 10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.common import ROOT, camera_jpeg_12mp
from tests.procfile import procfile_web_command

TARGET = 2.0
PHONES = 50
VAR = ROOT / "var" / "bench-upload"


def prepare_database(database_url: str | None) -> tuple[str, int]:
    """A fresh database (SQLite unless given) with an inspector on an inspection; their token and its id.

    A PostgreSQL database given by URL must exist; it is migrated and EMPTIED (a benchmark's own).
    """
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    os.environ["QINGSHAN_VAR_DIR"] = str(VAR)
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{VAR / 'db.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key-benchmark-only")
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import RefreshToken

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)  # a database server's rows of an earlier run
    from tests import builders

    member = builders.inspector()
    inspection = builders.inspection(team=[member])
    return str(RefreshToken.for_user(member.user).access_token), inspection.pk


def start(command: list[str], log: Path, environment: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)


def wait_for_server(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(log.read_text(errors="replace"))
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        time.sleep(0.2)
    raise SystemExit("the server did not answer within 60 s")


def multipart(fields: dict[str, str], content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="IMG_0001.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def post(port: int, path: str, headers: dict[str, str], body: bytes) -> tuple[float, int]:
    start_ = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "Connection: close\r\n\r\n"
    writer.write(head.encode())
    writer.write(body)
    await writer.drain()
    answer = await reader.read()
    elapsed = time.perf_counter() - start_
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    status = int(answer.split(b" ", 2)[1]) if answer else 0
    return elapsed, status


def round_(port: int, requests: list[tuple[str, dict[str, str], bytes]]) -> tuple[float, list[int]]:
    async def all_at_once() -> list[tuple[float, int]]:
        return await asyncio.gather(*(post(port, path, headers, body) for path, headers, body in requests))

    results = asyncio.run(all_at_once())
    return statistics.median(elapsed for elapsed, _ in results), [status for _, status in results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--worker", action="store_true", help="run a Celery worker on the media queue too")
    parser.add_argument("--pairs", type=int, default=10, help="pairs of rounds (bare, product)")
    parser.add_argument("--database-url", help="e.g. a PostgreSQL database; SQLite under var/ by default")
    arguments = parser.parse_args()

    token, inspection = prepare_database(arguments.database_url)
    photo = camera_jpeg_12mp()
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    command, variables = procfile_web_command(port)
    environment = {**os.environ, "QINGSHAN_BENCHMARK_BARE_UPLOAD": "1"}
    processes = [start(command, VAR / "web.log", {**environment, **variables})]
    try:
        wait_for_server(processes[0], port, VAR / "web.log")
        if arguments.worker:
            worker = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "media", "-c", "2"]
            processes.append(start(worker, VAR / "worker.log", environment))
        auth = {"Authorization": f"Bearer {token}"}

        def bare_requests() -> list[tuple[str, dict[str, str], bytes]]:
            body, content_type = multipart({"client_uuid": str(uuid.uuid4())}, photo)
            return [("/benchmark/bare-upload/", {"Content-Type": content_type}, body)] * PHONES

        def photo_requests() -> list[tuple[str, dict[str, str], bytes]]:
            requests = []
            for _ in range(PHONES):
                fields = {"client_uuid": str(uuid.uuid4()), "inspection": str(inspection)}
                body, content_type = multipart(fields, photo)
                requests.append(("/api/v1/photos/", {**auth, "Content-Type": content_type}, body))
            return requests

        round_(port, bare_requests()[:5])  # warm-up: both paths once
        round_(port, photo_requests()[:5])
        pairs, errors = [], 0
        for _ in range(arguments.pairs):
            bare, bare_statuses = round_(port, bare_requests())
            product, product_statuses = round_(port, photo_requests())
            errors += sum(status != 201 for status in bare_statuses + product_statuses)
            pairs.append((product, bare))
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(60)
    ratios = sorted(product / bare for product, bare in pairs)
    ratio = statistics.median(ratios)
    with_worker = " (with a media worker)" if arguments.worker else ""
    print(
        f"{PHONES} concurrent uploads of {len(photo) / 1e6:.1f} MB{with_worker}: "
        f"bare view p50 {statistics.median(b for _, b in pairs) * 1000:.0f} ms  "
        f"photo upload p50 {statistics.median(p for p, _ in pairs) * 1000:.0f} ms  "
        f"ratio {ratio:.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f})  errors {errors}"
    )
    met = ratio <= TARGET and errors == 0
    print(f"target: ratio ≤ {TARGET} with 0 errors → {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
