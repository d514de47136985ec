"""Fixtures for every test: the autouse ones keep tests apart; the others are asked for by name.

Builders (villages, people, inspections, cases, photos, ``at()``) are in
``tests/builders.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from inspections.accounts.models import User


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow tests first, in their order, then the rest in theirs.

    Under pytest-xdist (``make test``) the longest test of a run, the embargo guard, then starts
    at once on one worker while the others share the rest, instead of starting last.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session", autouse=True)
def _cache_of_this_worker(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under pytest-xdist (``-n``), each worker process its own cache, since every test clears it.

    A folder cache gets a folder per worker; Redis, the database numbered the configured one plus
    the worker's index (``gw1`` on ``/12`` uses ``/13``); a local-memory cache is per process already.
    """
    worker = getattr(request.config, "workerinput", {}).get("workerid")
    if not worker:
        yield
        return
    from django.conf import settings
    from django.test import override_settings

    index = int(worker.removeprefix("gw"))
    default = dict(settings.CACHES["default"])
    backend = default["BACKEND"]
    if backend.endswith("FileBasedCache"):
        default["LOCATION"] = str(Path(default["LOCATION"]) / worker)
    elif backend.endswith("RedisCache"):
        url = urlsplit(default["LOCATION"])
        number = int(url.path.strip("/") or 0) + index
        default["LOCATION"] = urlunsplit(url._replace(path=f"/{number}"))
    with override_settings(CACHES={**settings.CACHES, "default": default}):
        yield


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Throttle counters live in the cache; no test inherits another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Factories and the demo set a password per account; PBKDF2 costs half a second each.

    What is tested is who may log in and see what, not the strength of the hash.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def static_without_manifest(settings: Any) -> None:
    """Serve static files from the apps as they are: tests don't run collectstatic."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _static_without_manifest(settings: Any) -> None:
    static_without_manifest(settings)


@pytest.fixture(autouse=True)
def isolated_storage(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Originals, renditions and tus staging files of each test in its own folder (the media root)."""
    media = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media), "base_url": None},
        },
    }
    settings.QINGSHAN_TUS_UPLOAD_DIR = tmp_path / "uploads"
    yield media


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def client_for(user: User) -> APIClient:
    """An API client carrying a real JWT access token for ``user``."""
    client = APIClient()
    token = RefreshToken.for_user(user).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def as_user() -> Any:
    return client_for


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with this status and code."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:qingshan:problem:{code}"
    assert body["title"]
    return body


@pytest.fixture
def refusing_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker refuses connections (nothing listens on port 1); Celery reads the variable first."""
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")


@pytest.fixture
def eager_celery() -> Iterator[Any]:
    """Tasks run in-process when enqueued (on commit), as a worker would run them."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager = False


@pytest.fixture
def wsgi_server() -> Iterator[tuple[str, int]]:
    """A real threaded HTTP server running the project (for real clients over real sockets).

    pytest-django's ``live_server`` wraps the app in a media handler that
    cannot run with ``MEDIA_URL = None`` (no public media), so this starts
    Django's own threaded server directly, sharing an in-memory SQLite
    connection with the test as ``LiveServerThread`` does.
    """
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
