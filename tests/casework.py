"""Builders for the cases tests: submitted inspections with findings, opened cases."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
from django.utils import timezone

from inspections.accounts.models import Inspector, User
from inspections.cases.models import Case, CaseStatus
from inspections.cases.services import workflow as services
from inspections.checklist.models import ProblemCategory
from inspections.fieldwork.models import Finding, Inspection
from tests.factories import ProblemCategoryFactory, inspector, village

YUCUN = "330523108204"  # 余村, 天荒坪镇, 安吉县
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware moment, given in China time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def category(**kwargs: Any) -> ProblemCategory:
    return cast(ProblemCategory, ProblemCategoryFactory(**kwargs))


def submitted_inspection(
    *,
    village_code: str = YUCUN,
    findings: int = 1,
    team: list[Inspector] | None = None,
    submitted_at: dt.datetime | None = None,
    category_days: int = 10,
    status: str = Inspection.Status.SUBMITTED,
    photos_per_finding: int = 0,
) -> Inspection:
    submitted_at = submitted_at or timezone.now()
    team = team if team is not None else [inspector()]
    visit = Inspection.objects.create(
        mode=Inspection.Mode.RANDOM,
        village=village(village_code),
        window_start=submitted_at - dt.timedelta(days=2),
        window_end=submitted_at + dt.timedelta(hours=1),
        status=status,
        submitted_at=submitted_at if status == Inspection.Status.SUBMITTED else None,
    )
    visit.team.set(team)
    kind = category(code=f"garbage-pile-{category_days}", rectification_days=category_days)
    for n in range(findings):
        Finding.objects.create(
            inspection=visit,
            category=kind,
            severity="moderate",
            description=f"垃圾堆放 {n}",
            longitude=119.68,
            latitude=30.52,
            datum="wgs84",
            photo_uuids=[f"00000000-0000-4000-8000-{n:06d}{p:06d}" for p in range(photos_per_finding)],
            created_by=team[0].user,
        )
    return visit


def open_case(**kwargs: Any) -> Case:
    """One case, opened from a freshly submitted inspection."""
    now = kwargs.pop("now", None)
    visit = submitted_inspection(**kwargs)
    return services.cases_open_for_inspection(inspection=visit, now=now)[0]


def force_status(case: Case, status: str, **fields: Any) -> Case:
    """Test set-up only: put a case in a status without going through the workflow."""
    if status == CaseStatus.CLOSED:
        fields.setdefault("closed_at", timezone.now())
    Case.objects.filter(pk=case.pk).update(status=status, **fields)
    case.refresh_from_db()
    return case


def verifiers(count: int = 3, home: str = "330502") -> list[Inspector]:
    """Inspectors from outside Anji (吴兴区 by default): eligible to verify Anji's cases."""
    from tests.factories import division

    return [inspector(home_division=division(home)) for _ in range(count)]


def events_of(case: Case) -> list[str]:
    return list(case.events.order_by("seq").values_list("kind", flat=True))


def user_of(inspector_profile: Inspector) -> User:
    return inspector_profile.user


@pytest.fixture
def eager_celery() -> Any:
    """Tasks run in-process when enqueued (on commit), as a worker would run them."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager = False


def plain_static(settings: Any) -> None:
    """Admin pages in tests: static URLs without the collected manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
