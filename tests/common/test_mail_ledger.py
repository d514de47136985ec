"""The mail ledger: escalation notices and publication warnings survive an SMTP error.

The SMTP server is stood in for by an email backend that refuses its first
sends with a real ``smtplib`` error (the same edge the digest tests use); the
real SMTP conversation is in ``tests/integration/test_mail_retry.py``.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from typing import Any, ClassVar

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import OperationalError

from inspections.cases.models import Case, CaseNotification
from inspections.cases.services import escalation
from inspections.cases.tasks import send_case_notifications
from inspections.common.mail import MailTransientError, is_transient, mail_message_id
from inspections.common.models import MailSend
from inspections.publication import services as publication_services
from tests.builders import at, open_case, submitted_inspection, supervisor
from tests.faults import drivers_own_error

pytestmark = pytest.mark.django_db

OPENED = at(2025, 1, 24, 10)  # deadline Thursday 13 February with 10 working days


class RefusingBackend(EmailBackend):
    """The local-memory backend, whose next ``failures`` sends fail with ``error``."""

    failures: ClassVar[int] = 0
    error: ClassVar[Exception] = smtplib.SMTPDataError(451, b"try again later")

    def send_messages(self, messages: Any) -> int:
        if RefusingBackend.failures:
            RefusingBackend.failures -= 1
            raise RefusingBackend.error
        return super().send_messages(messages)


@pytest.fixture
def refusing_smtp(settings: Any) -> type[RefusingBackend]:
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    RefusingBackend.failures = 0
    RefusingBackend.error = smtplib.SMTPDataError(451, b"try again later")
    return RefusingBackend


@pytest.fixture
def notification() -> CaseNotification:
    supervisor("3305", email="huzhou@example.cn")  # the prefecture: next level up from Anji
    case: Case = open_case(submitted_at=OPENED, now=OPENED, category_days=10)
    escalation.cases_escalate_overdue(now=at(2025, 2, 14, 9))
    assert case.notifications.count() == 1
    return CaseNotification.objects.get()


def test_an_escalation_notice_refused_with_451_is_sent_on_the_retry_with_the_same_message_id(
    notification: CaseNotification, refusing_smtp: type[RefusingBackend]
) -> None:
    refusing_smtp.failures = 1

    with pytest.raises(MailTransientError):
        escalation.case_notifications_email(ids=[notification.pk])
    failed = MailSend.objects.get()
    notification.refresh_from_db()
    assert (failed.status, failed.attempts, notification.emailed_at) == ("failed", 1, None)
    assert "451" in failed.reason

    assert escalation.case_notifications_email(ids=[notification.pk]) == 1
    assert escalation.case_notifications_email(ids=[notification.pk]) == 0  # once

    sent = MailSend.objects.get()
    notification.refresh_from_db()
    assert (sent.status, sent.attempts) == ("sent", 2)
    assert notification.emailed_at is not None
    (message,) = mail.outbox
    assert message.to == ["huzhou@example.cn"]
    assert message.extra_headers["Message-ID"] == sent.message_id == mail_message_id(sent.key)


def test_the_notification_task_retries_until_the_smtp_server_takes_it(
    notification: CaseNotification, refusing_smtp: type[RefusingBackend], settings: Any
) -> None:
    from config.celery import app

    refusing_smtp.failures = 2
    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False  # each retry runs in turn, as a worker would run them
    try:
        result = send_case_notifications.apply(args=[[notification.pk]])
    finally:
        app.conf.task_eager_propagates = propagates

    assert result.successful(), result.traceback
    assert result.result == 1
    assert len(mail.outbox) == 1
    assert MailSend.objects.get().attempts == 3


def test_a_permanent_refusal_is_failed_for_good_and_not_retried(
    notification: CaseNotification, refusing_smtp: type[RefusingBackend]
) -> None:
    refusing_smtp.failures = 1
    refusing_smtp.error = smtplib.SMTPRecipientsRefused({"huzhou@example.cn": (550, b"no such user")})

    assert escalation.case_notifications_email(ids=[notification.pk]) == 0
    assert escalation.case_notifications_email(ids=[notification.pk]) == 0

    failed = MailSend.objects.get()
    assert failed.status == "failed" and "550" in failed.reason
    assert mail.outbox == []


def test_a_publication_warning_refused_with_451_is_sent_by_the_next_run_once(
    refusing_smtp: type[RefusingBackend],
) -> None:
    organiser = supervisor("3305", email="organiser@example.cn")
    visit = submitted_inspection(submitted_at=at(2025, 3, 3, 10))
    publication_services.publication_create(
        title_zh_hans="三月抽查结果", inspections=[visit], organisers=[organiser]
    )
    refusing_smtp.failures = 1

    with pytest.raises(MailTransientError):
        publication_services.publications_warn_due(now=at(2025, 3, 24, 9))
    assert mail.outbox == []
    retried = publication_services.publications_warn_due(now=at(2025, 3, 24, 9, 5))
    again = publication_services.publications_warn_due(now=at(2025, 3, 25, 9))

    assert (retried, again) == (0, 0)  # the publication was claimed by the first run
    assert [m.to for m in mail.outbox] == [["organiser@example.cn"]]
    sent = MailSend.objects.get()
    assert (sent.status, sent.attempts, sent.kind) == ("sent", 2, "publication_due")


def test_a_claim_held_by_a_dead_worker_is_taken_again_after_the_timeout(
    notification: CaseNotification, settings: Any
) -> None:
    escalation.mail_record(kind="case_escalated", key="k", recipient_id=notification.recipient_id)
    from inspections.common.mail import mail_claim

    now = at(2025, 2, 14, 9)
    assert mail_claim(key="k", now=now) is not None
    assert mail_claim(key="k", now=now + dt.timedelta(seconds=10)) is None
    later = now + dt.timedelta(seconds=settings.QINGSHAN_MAIL_CLAIM_TIMEOUT_SECONDS + 1)
    assert mail_claim(key="k", now=later) is not None


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (smtplib.SMTPServerDisconnected("gone"), True),
        (smtplib.SMTPResponseException(451, b"try later"), True),
        (smtplib.SMTPResponseException(550, b"no such user"), False),
        (ConnectionResetError(), True),
        (OperationalError("server closed the connection unexpectedly"), True),
        # The driver's own, as Django lets it through when a cut connection fails a cursor's close.
        (drivers_own_error("consuming input failed"), True),
        (ValueError("a bug"), False),
    ],
    ids=["disconnected", "smtp-4xx", "smtp-5xx", "reset", "django-db", "driver-db", "bug"],
)
def test_transient_errors_are_those_that_may_pass(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient
