"""Celery tasks of the cases area: thin, named, idempotent; each loads and calls a service.

Queues are chosen where a task is sent (``apply_async(queue=…)``, and the
beat entries' ``queue``), since Celery deprecates the task attribute.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from inspections.cases.services import follow_ups as case_services


@shared_task(name="inspections.cases.escalate_overdue", time_limit=600, expires=3000)
def escalate_overdue() -> int:
    """Beat, hourly: raise the escalation level of overdue cases (each case claimed once)."""
    return case_services.cases_escalate_overdue()


@shared_task(name="inspections.cases.send_notifications", time_limit=300)
def send_case_notifications(notification_ids: list[int]) -> int:
    return case_services.case_notifications_email(ids=notification_ids)


@shared_task(name="inspections.cases.schedule_look_backs", time_limit=600, expires=3000)
def schedule_look_backs(day: str | None = None) -> int:
    """Beat, daily: draw the look-back sample among the cases closed on ``day`` (default yesterday)."""
    if day is None:
        period = case_services.local_date(timezone.now()) - dt.timedelta(days=1)
    else:
        period = dt.date.fromisoformat(day)
    draw = case_services.cases_schedule_look_backs(period_start=period, period_end=period)
    return len(draw.drawn) if draw is not None else 0
