"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection
from django.http import HttpRequest, JsonResponse

from config.celery import app as celery_app

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def database_ok() -> bool:
    """Whether the database answers a query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("readiness: database unreachable")
        return False


def broker_ok() -> bool:
    """Whether the broker accepts a connection (one attempt, 2 s)."""
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.exception("readiness: broker unreachable")
        return False


@dataclass(frozen=True)
class Dependencies:
    """What one round of checks found: whether each dependency answers, and the storage's state."""

    database: bool
    broker: bool
    storage: str  # ``ok``, ``full`` or ``unavailable`` (``storage_probe``)

    def answering(self) -> dict[str, bool]:
        """Each dependency by name, answering (``True``) or not."""
        return {"database": self.database, "broker": self.broker, "storage": self.storage == "ok"}


def dependency_checks() -> Dependencies:
    """The database, the broker and the media storage, each checked once (``/readyz``, ``/metrics``)."""
    from inspections.evidence.storage import storage_probe

    return Dependencies(database=database_ok(), broker=broker_ok(), storage=storage_probe())


def photos_stuck_count() -> int | None:
    """Photos acknowledged a while ago and still not processed (``None`` without a database)."""
    from inspections.evidence.recovery import photos_stuck

    try:
        return photos_stuck().count()
    except Exception:
        logger.exception("readiness: could not count stuck photos")
        return None


def readyz(request: HttpRequest) -> JsonResponse:
    """The database, the broker and the media storage all answer: ready to take traffic.

    ``checks`` says which dependency is down; ``detail`` says how the storage is
    (``ok``, ``full``, ``unavailable``) and how many photos wait for processing
    longer than ``QINGSHAN_PHOTO_STUCK_AFTER`` (they do not make the process unready:
    the sweeper sends them again once the workers are back).
    """
    found = dependency_checks()
    checks = found.answering()
    ready = all(checks.values())
    detail: dict[str, object] = {"storage": found.storage}
    if found.database:
        detail["photos_stuck"] = photos_stuck_count()
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks, "detail": detail},
        status=200 if ready else 503,
    )
