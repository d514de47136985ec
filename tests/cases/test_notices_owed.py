"""A 交办 or escalation notice whose email was never sent is sent by the periodic job, once.

The email's task is published after the commit without waiting on the broker
(a bounded publish): with the broker down, or the message lost with its
process, the notice stays owed and ``inspections.cases.send_owed_notifications``
sends it once its own send has had the claim timeout. The mail ledger keeps a
late task and the job from sending it twice.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.models import CaseNotification
from inspections.cases.services import escalation
from inspections.cases.services.notices_owed import case_notifications_owed, case_notifications_send_owed
from inspections.cases.services.review import case_confirm
from inspections.cases.tasks import send_handover_notifications, send_owed_notifications
from inspections.common.models import MailSend
from tests.builders import open_case, responsible_party, supervisor

pytestmark = pytest.mark.django_db

PREFECTURE, ANJI, TOWNSHIP = "3305", "330523", "330523108"  # 余村's prefecture, county and township
HANDED_OVER, ESCALATED = CaseNotification.Kind.HANDED_OVER, CaseNotification.Kind.ESCALATED


def after_the_claim_timeout() -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=settings.QINGSHAN_MAIL_CLAIM_TIMEOUT_SECONDS + 1)


@pytest.fixture
def unit() -> dict[str, User]:
    return {
        "township": responsible_party(TOWNSHIP, email="township@example.cn"),
        "county": responsible_party(ANJI, email="county@example.cn"),
        "supervisor": supervisor(ANJI, email="supervisor@example.cn"),
        "prefecture": supervisor(PREFECTURE, email="prefecture@example.cn"),  # told of a first escalation
    }


def test_a_handover_under_a_refusing_broker_commits_at_once_and_its_emails_go_out_later_once(
    unit: dict[str, User], refusing_broker: None, django_capture_on_commit_callbacks: Any, eager_celery: Any
) -> None:
    case = open_case(hand_over=False)
    eager_celery.conf.task_always_eager = False  # a real publish, to the refusing broker
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        case_confirm(case=case, actor=unit["supervisor"])  # not an error, and no wait on the broker
    elapsed = time.monotonic() - started

    assert len(callbacks) == 1 and elapsed < 10 * settings.QINGSHAN_PUBLISH_TIMEOUT_SECONDS
    assert CaseNotification.objects.filter(case=case, kind=HANDED_OVER, emailed_at=None).count() == 2
    assert mail.outbox == []

    # Before the claim timeout the notices are their own task's: nothing is sent.
    assert case_notifications_send_owed(now=timezone.now()) == {HANDED_OVER: 0, ESCALATED: 0}
    assert mail.outbox == []

    later = after_the_claim_timeout()
    assert case_notifications_send_owed(now=later) == {HANDED_OVER: 2, ESCALATED: 0}
    assert sorted(message.to[0] for message in mail.outbox) == ["county@example.cn", "township@example.cn"]
    assert not CaseNotification.objects.filter(case=case, emailed_at=None).exists()
    # The next run, and the task's own message arriving late, send nothing again.
    assert case_notifications_send_owed(now=later) == {HANDED_OVER: 0, ESCALATED: 0}
    eager_celery.conf.task_always_eager = True
    ids = list(CaseNotification.objects.filter(case=case).values_list("pk", flat=True))
    assert send_handover_notifications.apply(args=[ids]).result == 0
    assert len(mail.outbox) == 2


def test_an_escalation_whose_message_was_lost_is_emailed_by_the_beat_task(
    unit: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    case = open_case(hand_over=True)
    handed_over = set(CaseNotification.objects.filter(case=case).values_list("pk", flat=True))
    CaseNotification.objects.filter(pk__in=handed_over).update(emailed_at=timezone.now())
    # The commit's callbacks never run: the process died after the commit, before the publish.
    with django_capture_on_commit_callbacks(execute=False):
        escalation.case_escalate(case=case, actor=unit["supervisor"], note="overdue")
    (notice,) = CaseNotification.objects.filter(case=case, kind=ESCALATED)
    assert notice.emailed_at is None and mail.outbox == []

    assert send_owed_notifications.apply().result == {HANDED_OVER: 0, ESCALATED: 0}  # its task's time
    made = timezone.now() - dt.timedelta(seconds=settings.QINGSHAN_MAIL_CLAIM_TIMEOUT_SECONDS + 1)
    CaseNotification.objects.filter(pk=notice.pk).update(created_at=made)
    assert send_owed_notifications.apply().result == {HANDED_OVER: 0, ESCALATED: 1}

    (message,) = mail.outbox
    assert message.to == ["prefecture@example.cn"] and notice.recipient == unit["prefecture"]
    notice.refresh_from_db()
    assert notice.emailed_at is not None
    assert MailSend.objects.get(key=f"case_notification:{notice.pk}").status == MailSend.Status.SENT


def test_notices_whose_email_is_settled_or_in_hand_are_not_owed(unit: dict[str, User]) -> None:
    case = open_case(hand_over=True)
    township, county = (
        CaseNotification.objects.get(case=case, recipient=unit[name]) for name in ("township", "county")
    )
    later = after_the_claim_timeout()
    assert set(case_notifications_owed(kind=HANDED_OVER, now=later)) == {township.pk, county.pk}

    def ledger(notice: CaseNotification, **fields: Any) -> None:
        MailSend.objects.update_or_create(
            key=f"case_handover:{notice.pk}",
            defaults={"kind": "case_handed_over", "recipient_id": notice.recipient_id, **fields},
        )

    # Sent, but the process died before the notice was marked: not sent again.
    ledger(township, status=MailSend.Status.SENT)
    # Failed for good (a 5xx, or every attempt used).
    ledger(county, status=MailSend.Status.FAILED, attempts=settings.QINGSHAN_MAIL_MAX_ATTEMPTS)
    assert case_notifications_owed(kind=HANDED_OVER, now=later) == []

    # Failed with attempts left: owed again. Being sent right now (a fresh claim): not.
    ledger(county, status=MailSend.Status.FAILED, attempts=1)
    assert case_notifications_owed(kind=HANDED_OVER, now=later) == [county.pk]
    ledger(county, status=MailSend.Status.CLAIMED, claim_token=MailSend.new_token(), claimed_at=later)
    assert case_notifications_owed(kind=HANDED_OVER, now=later) == []
    # A claim older than the timeout (its worker died): owed again.
    stale = later + dt.timedelta(seconds=settings.QINGSHAN_MAIL_CLAIM_TIMEOUT_SECONDS + 1)
    assert case_notifications_owed(kind=HANDED_OVER, now=stale) == [county.pk]
