"""What users and stored data depend on does not move when the code does.

Phones and browsers call the URLs, bookmarks hold admin URLs, groups hold
permission codenames, beat rows and queued messages hold task names, and old
digest emails hold unsubscribe links signed with a salt. Each is recorded in
``tests/fixtures/surface.json``; a change must be deliberate: regenerate the
file with ``QINGSHAN_RECORD_SURFACE=1 pytest tests/api/test_surface.py`` and say
why in the commit.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_celery_beat.models import PeriodicTask

from config.celery import app

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "surface.json"
OUR_APPS = ("inspections", "villages")
# The salt of the one-click unsubscribe links in every digest already sent.
UNSUBSCRIBE_SALT = "inspections.digests.unsubscribe"


def _routes(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[dict[str, Any]]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            # The admin lists its apps in registration order; the URLs it matches are the same.
            route = re.sub(
                r"\(\?P<app_label>([^)]*)\)",
                lambda m: "(?P<app_label>" + "|".join(sorted(m[1].split("|"))) + ")",
                route,
            )
            yield {"route": route, "name": f"{namespace}{pattern.name}" if pattern.name else None}


def surface() -> dict[str, Any]:
    beat = [
        {
            "name": task.name,
            "task": task.task,
            "queue": task.queue,
            "crontab": str(task.crontab) if task.crontab else None,
            "kwargs": json.loads(task.kwargs or "{}"),
            "expire_seconds": task.expire_seconds,
        }
        for task in PeriodicTask.objects.exclude(name__startswith="celery.").order_by("name")
    ]
    app.loader.import_default_modules()  # what a worker registers at start
    return {
        "urls": sorted(_routes(get_resolver()), key=lambda u: (u["route"], u["name"] or "")),
        "tasks": sorted(name for name in app.tasks if name.startswith("inspections.")),
        "content_types": sorted(
            f"{ct.app_label}.{ct.model}" for ct in ContentType.objects.filter(app_label__in=OUR_APPS)
        ),
        "permissions": sorted(
            f"{p.content_type.app_label}.{p.codename}"
            for p in Permission.objects.filter(content_type__app_label__in=OUR_APPS).select_related(
                "content_type"
            )
        ),
        "beat": beat,
    }


@pytest.mark.django_db
def test_urls_tasks_permissions_and_beat_rows_are_the_recorded_ones() -> None:
    current = surface()
    if os.environ.get("QINGSHAN_RECORD_SURFACE"):
        FIXTURE.write_text(json.dumps(current, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(FIXTURE.read_text())

    for part in ("urls", "tasks", "content_types", "permissions", "beat"):
        assert current[part] == recorded[part], part


@pytest.mark.django_db
def test_an_unsubscribe_link_signed_with_the_shipped_salt_still_works() -> None:
    user = get_user_model().objects.create_user(username="reader", email="reader@example.cn")
    token = signing.dumps({"u": user.pk, "k": "weekly"}, salt=UNSUBSCRIBE_SALT)

    response = Client().post(f"/digests/unsubscribe/{token}/")

    assert response.status_code == 200
    assert user.digest_subscriptions.get(kind="weekly").enabled is False
