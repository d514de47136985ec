"""交办 emails through a real SMTP server (aiosmtpd) that answers 451 once: each account gets one."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest

from inspections.cases.models import CaseNotification
from inspections.cases.services.review import case_confirm
from inspections.common.models import MailSend
from tests.builders import open_case, responsible_party, supervisor
from tests.integration.test_digest_delivery import SmtpHandler, smtp  # noqa: F401 - the fixture
from tests.integration.test_mail_retry import real_smtp  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_a_hand_over_answered_451_reaches_each_account_of_the_unit_exactly_once(
    real_smtp: SmtpHandler,  # noqa: F811
    eager_celery: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    responsible_party("330523108", email="township@example.cn")
    responsible_party("330523", email="county@example.cn")
    responsible_party("330523101", email="elsewhere@example.cn")  # another township: not its problem
    case = open_case(hand_over=False)
    real_smtp.refuse_once.add("township@example.cn")
    eager_celery.conf.task_eager_propagates = False  # the task's retries run in turn, as a worker's would
    try:
        with django_capture_on_commit_callbacks(execute=True):
            case_confirm(case=case, actor=supervisor("330523"))
    finally:
        eager_celery.conf.task_eager_propagates = True

    assert sorted(address for r in real_smtp.received for address in r.rcpt) == [
        "county@example.cn",
        "township@example.cn",
    ]
    (message,) = real_smtp.to("township@example.cn")
    township = MailSend.objects.get(recipient__email="township@example.cn")
    assert (township.status, township.attempts) == ("sent", 2)
    assert message["Message-ID"] == township.message_id
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    sheet = pypdf.PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
    assert "交办单" in sheet and f"/api/v1/cases/{case.pk}/" in sheet
    assert CaseNotification.objects.filter(case=case, emailed_at__isnull=False).count() == 2
