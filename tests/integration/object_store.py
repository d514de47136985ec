"""A real S3-protocol server for the tests: moto's standalone server, or the one CI started.

``QINGSHAN_TEST_S3_ENDPOINT_URL`` names a running server (``.ci/run`` starts
``moto_server`` once for the whole run); without it the session starts its own
``moto_server`` on a free port. Each test gets a bucket of its own.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from tests.integration.test_digest_delivery import wait_until

REGION = "us-east-1"
# moto accepts any credentials; these are the ones every process of a test is given.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "qingshan-test", "AWS_SECRET_ACCESS_KEY": "qingshan-test-secret"}


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    with contextlib.suppress(OSError):
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=2)
        connection.request("GET", "/")
        return connection.getresponse().status < 500
    return False


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    given = os.environ.get("QINGSHAN_TEST_S3_ENDPOINT_URL")
    if given:
        assert _answers(given), f"the S3 server at {given} does not answer"
        yield given
        return
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    executable = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(executable), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            assert process.poll() is None, "moto_server exited"
            return _answers(url)

        wait_until(up, "moto_server to answer")
        yield url
    finally:
        process.terminate()
        process.wait(30)


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def s3_storage_options(endpoint: str, bucket: str) -> dict[str, Any]:
    """The STORAGES["default"] the settings module makes for QINGSHAN_STORAGE=s3 (see s3_environment)."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "region_name": REGION,
            "access_key": CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "secret_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
            "signature_version": "s3v4",
            "addressing_style": "path",
        },
    }


def s3_environment(endpoint: str, bucket: str) -> dict[str, str]:
    """The environment that makes another process of the project use ``bucket``."""
    return {
        "QINGSHAN_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": REGION,
        "QINGSHAN_S3_ADDRESSING_STYLE": "path",
        **CREDENTIALS,
    }


def new_bucket(endpoint: str) -> str:
    bucket = f"qingshan-test-{uuid.uuid4().hex[:16]}"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    return bucket


def object_names(endpoint: str, bucket: str, prefix: str = "") -> list[str]:
    listing = s3_client(endpoint).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture
def s3_bucket(s3_endpoint: str, settings: Any, isolated_storage: Path) -> str:
    """This test's media storage is a fresh bucket on the S3 server, tus staging included."""
    bucket = new_bucket(s3_endpoint)
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_options(s3_endpoint, bucket)}
    settings.QINGSHAN_TUS_STAGING = "storage"
    return bucket
