"""Escalation notices and publication warnings through a real SMTP server (aiosmtpd) that answers 451 once."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from config.celery import app
from inspections.cases.models import CaseNotification
from inspections.cases.services import escalation
from inspections.cases.tasks import send_case_notifications
from inspections.common.mail import MailTransientError
from inspections.common.models import MailSend
from inspections.publication import services as publication_services
from inspections.publication.tasks import warn_publication_due
from tests.builders import at, open_case, submitted_inspection, supervisor
from tests.integration.test_digest_delivery import SmtpHandler, smtp  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def real_smtp(smtp: tuple[SmtpHandler, int], settings: Any) -> SmtpHandler:  # noqa: F811
    handler, port = smtp
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return handler


def run_with_retries(task: Any, *args: Any) -> Any:
    """Apply the task as a worker would: each retry runs in turn (countdowns are not waited for)."""
    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    try:
        return task.apply(args=list(args))
    finally:
        app.conf.task_eager_propagates = propagates


def test_an_escalation_notice_answered_451_is_delivered_once_by_the_retry(real_smtp: SmtpHandler) -> None:
    supervisor("3305", email="huzhou@example.cn")
    open_case(submitted_at=at(2025, 1, 24, 10), now=at(2025, 1, 24, 10), category_days=10)
    escalation.cases_escalate_overdue(now=at(2025, 2, 14, 9))
    notification = CaseNotification.objects.get()
    real_smtp.refuse_once.add("huzhou@example.cn")

    result = run_with_retries(send_case_notifications, [notification.pk])

    assert result.successful(), result.traceback
    (message,) = real_smtp.to("huzhou@example.cn")
    sent = MailSend.objects.get()
    assert (sent.status, sent.attempts) == ("sent", 2)
    assert message["Message-ID"] == sent.message_id
    assert run_with_retries(send_case_notifications, [notification.pk]).result == 0
    assert len(real_smtp.received) == 1


def test_a_publication_warning_answered_451_is_delivered_once_by_the_retry(real_smtp: SmtpHandler) -> None:
    organiser = supervisor("3305", email="organiser@example.cn")
    visit = submitted_inspection(submitted_at=at(2025, 3, 3, 10))
    publication_services.publication_create(
        title_zh_hans="三月抽查结果", inspections=[visit], organisers=[organiser]
    )
    real_smtp.refuse_once.add("organiser@example.cn")

    with pytest.raises(MailTransientError):
        publication_services.publications_warn_due(now=at(2025, 3, 24, 9))
    # The task's run on that day: later, the results would be overdue, and told so as well.
    with time_machine.travel(at(2025, 3, 24, 9, 5), tick=False):
        result = run_with_retries(warn_publication_due)

    assert result.successful(), result.traceback
    assert [r.rcpt for r in real_smtp.received] == [["organiser@example.cn"]]
    assert MailSend.objects.get().status == "sent"
