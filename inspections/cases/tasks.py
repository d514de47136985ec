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

from inspections.cases.exports import ledger_export_build, ledger_exports_purge
from inspections.cases.history import case_history_anchor_write
from inspections.cases.services.escalation import case_notifications_email, cases_escalate_overdue
from inspections.cases.services.follow_ups import cases_schedule_look_backs
from inspections.cases.services.handover import case_handover_emails
from inspections.cases.services.ladder import bulletins_compile, cases_climb_ladder, ladder_mails_deliver
from inspections.cases.services.notices_owed import case_notifications_send_owed
from inspections.common.china_time import local_date
from inspections.common.dispatch import mail_retry
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
        raise mail_retry(self, exc) from exc


@shared_task(bind=True, name="inspections.cases.send_handover_notifications", time_limit=300, acks_late=True)
def send_handover_notifications(self: Any, notification_ids: list[int]) -> int:
    """After a 交办 commits: email each account of the responsible unit once; retry transient SMTP errors."""
    try:
        return case_handover_emails(ids=notification_ids)
    except MailTransientError as exc:
        raise mail_retry(self, exc) from exc


@shared_task(name="inspections.cases.send_owed_notifications", time_limit=600, expires=500)
def send_owed_notifications() -> dict[str, int]:
    """Beat, every 10 minutes: email the 交办 and escalation notices whose own send never ran."""
    return case_notifications_send_owed()


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


@shared_task(name="inspections.cases.export_ledger", time_limit=600, acks_late=True)
def export_ledger(export_id: int) -> int:
    """On request: build a long 问题台账 spreadsheet; redelivered after a worker's death, it starts over."""
    export = ledger_export_build(export_id=export_id)
    return 0 if export is None else export.written


@shared_task(name="inspections.cases.purge_exports", time_limit=600, expires=6 * 3600)
def purge_exports() -> int:
    """Beat, daily: remove 问题台账 exports past their retention, with their files."""
    return ledger_exports_purge(now=timezone.now())


@shared_task(name="inspections.cases.climb_ladder", time_limit=600, expires=3000)
def climb_ladder() -> dict[str, int]:
    """Beat, hourly: the 督办 ladder's 提醒 and 督办单 due today (each once), and ladder emails still owed."""
    return cases_climb_ladder()


@shared_task(bind=True, name="inspections.cases.send_ladder_mail", time_limit=300, acks_late=True)
def send_ladder_mail(self: Any, keys: list[str]) -> int:
    """After a ladder step or a bulletin commits: send each of its emails once; retry transient errors."""
    try:
        return ladder_mails_deliver(keys=keys)
    except MailTransientError as exc:
        raise mail_retry(self, exc) from exc


@shared_task(name="inspections.cases.compile_bulletins", time_limit=1800, expires=12 * 3600)
def compile_bulletins() -> int:
    """Beat, daily: the bulletins (通报) of the last complete month still missing (so once a month)."""
    return bulletins_compile()
