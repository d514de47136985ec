"""Celery tasks of the cases area: thin, named, idempotent; each loads and calls a service.

Their queues are chosen in ``CELERY_TASK_ROUTES`` only. The names are stored
in beat rows and queued messages: never rename one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from inspections.cases.history import case_history_anchor_write
from inspections.cases.services.escalation import case_notifications_email, cases_escalate_overdue
from inspections.cases.services.follow_ups import cases_schedule_look_backs
from inspections.cases.services.handover import case_handover_emails
from inspections.common.china_time import local_date
from inspections.common.mail import MailTransientError


@shared_task(name="inspections.cases.escalate_overdue", time_limit=600, expires=3000)
def escalate_overdue() -> int:
    """Beat, hourly: raise the escalation level of overdue cases (each case claimed once)."""
    return cases_escalate_overdue()


@shared_task(bind=True, name="inspections.cases.send_notifications", time_limit=300, acks_late=True)
def send_case_notifications(self: Any, notification_ids: list[int]) -> int:
    """After an escalation commits: email each of its notifications once; retry transient SMTP errors."""
    try:
        return case_notifications_email(ids=notification_ids)
    except MailTransientError as exc:
        raise self.retry(
            exc=exc,
            countdown=settings.QINGSHAN_MAIL_RETRY_SECONDS * 2**self.request.retries,
            max_retries=settings.QINGSHAN_MAIL_MAX_ATTEMPTS,
        ) from exc


@shared_task(bind=True, name="inspections.cases.send_handover_notifications", time_limit=300, acks_late=True)
def send_handover_notifications(self: Any, notification_ids: list[int]) -> int:
    """After a 交办 commits: email each account of the responsible unit once; retry transient SMTP errors."""
    try:
        return case_handover_emails(ids=notification_ids)
    except MailTransientError as exc:
        raise self.retry(
            exc=exc,
            countdown=settings.QINGSHAN_MAIL_RETRY_SECONDS * 2**self.request.retries,
            max_retries=settings.QINGSHAN_MAIL_MAX_ATTEMPTS,
        ) from exc


@shared_task(name="inspections.cases.schedule_look_backs", time_limit=600, expires=3000)
def schedule_look_backs(day: str | None = None) -> int:
    """Beat, daily: draw the look-back sample of the cases closed on ``day`` (default: yesterday in China)."""
    yesterday = local_date(timezone.now()) - dt.timedelta(days=1)
    period = yesterday if day is None else dt.date.fromisoformat(day)
    draw = cases_schedule_look_backs(period_start=period, period_end=period)
    return len(draw.drawn) if draw is not None else 0


@shared_task(name="inspections.cases.anchor_history", time_limit=1800, expires=6 * 3600)
def anchor_history() -> int:
    """Beat, daily: write the signed chain heads to ``QINGSHAN_LEDGER_ANCHOR_DIR`` (once a day)."""
    written = case_history_anchor_write(folder=settings.QINGSHAN_LEDGER_ANCHOR_DIR, now=timezone.now())
    return 0 if written is None else written[1]
