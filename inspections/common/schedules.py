"""Periodic jobs defined in code: one writer of django-celery-beat's rows.

Each concern declares its entries in its ``schedules.py`` (``ENTRIES``);
:func:`ensure` runs after every ``migrate`` (``InspectionsConfig.ready``) and
creates the rows that are missing. Rows that exist are left as they are, so a
supervisor's edits in the admin (*Periodic tasks*) survive deployments. The
queue of a row is the task's route in ``CELERY_TASK_ROUTES``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

SCHEDULE_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class PeriodicEntry:
    """One beat entry: a named task on a crontab in China time.

    ``expires`` (seconds) drops a run that beat or the queue delivers late:
    the next run covers it, so late runs never pile up.
    """

    name: str
    task: str
    minute: str
    hour: str
    expires: int
    day_of_week: str = "*"
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""


def queue_of(task: str) -> str:
    """The queue ``CELERY_TASK_ROUTES`` sends ``task`` to (the default queue if unrouted)."""
    route = settings.CELERY_TASK_ROUTES.get(task, {})
    return str(route.get("queue", settings.CELERY_TASK_DEFAULT_QUEUE))


def ensure(entries: Iterable[PeriodicEntry]) -> None:
    """Create the beat rows of ``entries`` that are missing; existing rows are kept as edited."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    for entry in entries:
        schedule, _created = CrontabSchedule.objects.get_or_create(
            minute=entry.minute,
            hour=entry.hour,
            day_of_week=entry.day_of_week,
            day_of_month="*",
            month_of_year="*",
            timezone=SCHEDULE_TIMEZONE,
        )
        defaults: dict[str, Any] = {
            "task": entry.task,
            "crontab": schedule,
            "queue": queue_of(entry.task),
            "expire_seconds": entry.expires,
        }
        if entry.kwargs:
            defaults["kwargs"] = json.dumps(entry.kwargs)
        if entry.description:
            defaults["description"] = entry.description
        PeriodicTask.objects.get_or_create(name=entry.name, defaults=defaults)
