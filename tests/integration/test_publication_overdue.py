"""Overdue results told to their organiser through a real SMTP server (aiosmtpd) that answers 451 once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from inspections.common.models import MailSend
from inspections.publication import services as publication_services
from inspections.publication.models import Publication
from inspections.publication.tasks import warn_publication_due
from tests.builders import submitted_inspection, supervisor
from tests.integration.test_digest_delivery import SmtpHandler, smtp  # noqa: F401 - the fixture
from tests.integration.test_mail_retry import real_smtp, run_with_retries  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_overdue_results_are_told_to_the_organiser_once_even_when_the_first_attempt_fails(
    real_smtp: SmtpHandler,  # noqa: F811
) -> None:
    organiser = supervisor("3305", email="organiser@example.cn")
    visit = submitted_inspection(submitted_at=timezone.now() - dt.timedelta(days=60))
    publication = publication_services.publication_create(
        title_zh_hans="逾期的抽查结果", inspections=[visit], organisers=[organiser]
    )
    Publication.objects.filter(pk=publication.pk).update(warned_at=timezone.now() - dt.timedelta(days=40))
    real_smtp.refuse_once.add("organiser@example.cn")

    result = run_with_retries(warn_publication_due)
    again = run_with_retries(warn_publication_due)

    assert result.successful(), result.traceback
    assert again.successful(), again.traceback
    (message,) = real_smtp.to("organiser@example.cn")
    sent = MailSend.objects.get(kind="publication_overdue")
    assert (sent.status, sent.attempts) == ("sent", 2)
    assert message["Message-ID"] == sent.message_id
    assert len(real_smtp.received) == 1
    publication.refresh_from_db()
    assert publication.overdue_flagged_at is not None
