"""Sizing figures for the deployment guide: uploads per second per web server, photos processed
per second per media worker, with media and tus staging on an S3-protocol server.

Starts moto's S3 server, the Procfile's web server (its own ``web`` line: uvicorn
with its worker processes and database pool, read by ``tests/procfile.py``) and,
after the uploads, one media worker (``-P solo``: one process, one core), all on
the database of ``DATABASE_URL`` (migrated here; a scratch PostgreSQL database is
meant) and the broker of ``CELERY_BROKER_URL`` (Redis or RabbitMQ). Photos
are 12-megapixel camera JPEGs (about 2.3 MB), sent by 4 clients at once. Then
one email worker (``-P solo``) fans out the weekly digest to 200 supervisors of
one county through a real SMTP server (aiosmtpd, in this process).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qs_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/9 \\
    .venv/bin/python tests/benchmarks/bench_nodes.py [photos]

moto keeps objects in memory and runs on the same cores, so against a real
object store (another machine) the web figure is bounded by the network and
the store's latency instead: read these as "per server, CPU-bound" figures.
"""

from __future__ import annotations

import base64
import concurrent.futures
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.common import ROOT, camera_jpeg_12mp, setup_django
from tests.procfile import procfile_web_command

CLIENTS = 4


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def wait_for(condition, what: str, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.05)


def answers(port: int, path: str = "/") -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path)
        return connection.getresponse().status < 500
    except OSError:
        return False


def call(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    return response


def multipart(fields: dict[str, str], content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="IMG.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


DIGEST_RECIPIENTS = 200


def digest_fan_out(environment: dict[str, str], folder: Path) -> float:
    """Weekly digests to DIGEST_RECIPIENTS supervisors of one county, by one worker, through a real
    SMTP server (aiosmtpd, in this process); digests sent per second, from the beat's firing to the
    last message accepted."""
    import logging
    import threading

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's line per SMTP command

    from tests.builders import ANJI, YUCUN, county_activity, recipient

    received: list[int] = []
    lock = threading.Lock()

    class Count:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            with lock:
                received.append(1)
            return "250 Message accepted for delivery"

    county_activity(YUCUN)
    for n in range(DIGEST_RECIPIENTS):
        recipient(ANJI, username=f"bench-{n}")
    smtp_port = free_port()
    controller = Controller(Count(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    queue = f"email-bench-{uuid.uuid4().hex[:8]}"
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-P", "solo"),
            *("--without-mingle", "--without-gossip", "--without-heartbeat", "--loglevel", "INFO"),
        ],
        cwd=ROOT,
        env={
            **environment,
            "QINGSHAN_VAR_DIR": str(folder / "email-worker"),
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "QINGSHAN_DIGEST_QUEUE": queue,
        },
        stdout=(folder / "email-worker.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        log = folder / "email-worker.log"
        wait_for(lambda: "ready." in log.read_text(errors="replace"), "the email worker")
        from inspections.digests.tasks import send_scheduled

        started = time.perf_counter()
        send_scheduled.apply_async(kwargs={"kind": "weekly", "period": "2025-01-06"}, queue=queue)
        wait_for(lambda: len(received) >= DIGEST_RECIPIENTS, "every digest", 900)
        return DIGEST_RECIPIENTS / (time.perf_counter() - started)
    finally:
        worker.terminate()
        worker.wait(60)
        controller.stop()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 24
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a scratch PostgreSQL database")
    if not os.environ.get("CELERY_BROKER_URL"):
        raise SystemExit("set CELERY_BROKER_URL to Redis or RabbitMQ")
    s3_port = free_port()
    moto = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(s3_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: answers(s3_port), "moto_server")
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    queue = f"media-bench-{uuid.uuid4().hex[:8]}"
    s3 = {
        "QINGSHAN_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "AWS_S3_REGION_NAME": "us-east-1",
        "QINGSHAN_S3_ADDRESSING_STYLE": "path",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "QINGSHAN_MEDIA_QUEUE": queue,
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key",
        "QINGSHAN_LEDGER_KEY": "benchmark-only-ledger-key",
    }
    os.environ.update(s3)
    setup_django()
    import boto3
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import RefreshToken

    from inspections.evidence.models import Photo
    from tests import builders

    boto3.client(
        "s3",
        endpoint_url=s3["AWS_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench-secret",
    ).create_bucket(Bucket=bucket)
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)  # a scratch database: each run starts empty
    member = builders.inspector()
    inspection = builders.inspection(team=[member])
    token = str(RefreshToken.for_user(member.user).access_token)
    photos = [camera_jpeg_12mp() for _ in range(2)]
    print(f"photo: {len(photos[0]) / 1e6:.1f} MB, {count} uploads per channel, {CLIENTS} clients")

    folder = Path(tempfile.mkdtemp(prefix="qingshan-bench-"))
    environment = {**os.environ, "QINGSHAN_VAR_DIR": str(folder / "var"), "DATABASE_CONN_MAX_AGE": "60"}
    web_port = free_port()
    # The Procfile's own web line (uvicorn, its worker processes and its database pool).
    command, variables = procfile_web_command(web_port)
    web = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**environment, **variables},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = None
    try:
        wait_for(lambda: answers(web_port, "/healthz"), "the web server")
        auth = {"Authorization": f"Bearer {token}"}

        def by_multipart(n: int) -> None:
            body, content_type = multipart(
                {"client_uuid": str(uuid.uuid4()), "inspection": str(inspection.pk)}, photos[n % 2]
            )
            response = call(web_port, "POST", "/api/v1/photos/", {**auth, "Content-Type": content_type}, body)
            assert response.status == 201, response.status

        def by_tus(n: int) -> None:
            content = photos[n % 2]
            metadata = ",".join(
                f"{key} {base64.b64encode(value.encode()).decode()}"
                for key, value in {"client_uuid": str(uuid.uuid4()), "inspection": str(inspection.pk)}.items()
            )
            tus = {**auth, "Tus-Resumable": "1.0.0"}
            created = call(
                web_port,
                "POST",
                "/api/v1/uploads/",
                {**tus, "Upload-Length": str(len(content)), "Upload-Metadata": metadata},
            )
            assert created.status == 201, created.status
            location = "/api/" + created.getheader("Location", "").split("/api/", 1)[1]
            half = len(content) // 2  # two pieces, as a phone on a weak signal sends them
            for start, end in ((0, half), (half, len(content))):
                patched = call(
                    web_port,
                    "PATCH",
                    location,
                    {**tus, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(start)},
                    content[start:end],
                )
                assert patched.status == 204, patched.status

        workers = command[command.index("--workers") + 1] if "--workers" in command else "1"
        figures = {}
        for label, send in (("multipart", by_multipart), ("tus (2 PATCHes)", by_tus)):
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(send, range(count)))
            figures[label] = count / (time.perf_counter() - started)
            server = f"the Procfile's web server ({workers} processes)"
            print(f"uploads per second, {server}, {label}: {figures[label]:.1f}")

        waiting = Photo.objects.filter(status=Photo.Status.RECEIVED).count()
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                queue,
                "-P",
                "solo",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={**environment, "QINGSHAN_VAR_DIR": str(folder / "worker")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(
            lambda: Photo.objects.filter(status=Photo.Status.RECEIVED).count() < waiting, "the worker", 180
        )
        started = time.perf_counter()
        first_left = Photo.objects.filter(status=Photo.Status.RECEIVED).count()
        wait_for(lambda: not Photo.objects.filter(status=Photo.Status.RECEIVED).exists(), "processing", 900)
        rate = first_left / (time.perf_counter() - started)
        print(f"photos processed per second, one media worker (solo): {rate:.2f}")
        errors = Photo.objects.exclude(status=Photo.Status.READY).count()
        print(f"photos not ready: {errors}")
        worker.terminate()
        worker.wait(60)
        worker = None
        rate = digest_fan_out(environment, folder)
        print(f"digests sent per second, one email worker (solo), fan-out to {DIGEST_RECIPIENTS}: {rate:.1f}")
    finally:
        for process in (worker, web, moto):
            if process is not None:
                process.terminate()
                process.wait(30)


if __name__ == "__main__":
    main()
