"""Escalation (督办): at the deadline, again after N working days, once however often it runs."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connections

from inspections.cases.models import Case, CaseAction, CaseEvent, CaseNotification, CaseStatus
from inspections.cases.services import escalation as services
from inspections.cases.services.status import case_set_status
from tests.builders import at, open_case, responsible_party, supervisor

pytestmark = pytest.mark.django_db

# Opened Friday 24 January 2025 with 10 working days: deadline Thursday 13 February.
OPENED = at(2025, 1, 24, 10)


@pytest.fixture
def overdue_case() -> Case:
    supervisor("3305", email="huzhou@example.cn")  # the prefecture: next level up from Anji
    supervisor("330523", email="anji@example.cn")  # the county itself: not notified
    supervisor("33", email="zhejiang@example.cn")  # the province: notified at level 2
    return open_case(submitted_at=OPENED, now=OPENED, category_days=10)


@pytest.mark.usefixtures("eager_celery")
def test_it_escalates_the_day_after_the_deadline_and_notifies_once(
    overdue_case: Case,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    assert services.cases_escalate_overdue(now=at(2025, 2, 13, 23)) == 0  # still the deadline day

    with django_capture_on_commit_callbacks(execute=True):
        first = services.cases_escalate_overdue(now=at(2025, 2, 14, 9))
    with django_capture_on_commit_callbacks(execute=True):
        second = services.cases_escalate_overdue(now=at(2025, 2, 14, 10))

    assert (first, second) == (1, 0)
    overdue_case.refresh_from_db()
    assert overdue_case.escalation_level == 1
    # again 5 working days later: Friday 21 February
    assert overdue_case.escalation_due_on == dt.date(2025, 2, 21)
    assert overdue_case.events.filter(kind=CaseEvent.Kind.ESCALATED).count() == 1
    notices = CaseNotification.objects.all()
    assert [n.recipient.email for n in notices] == ["huzhou@example.cn"]
    assert [m.to for m in mail.outbox] == [["huzhou@example.cn"]]
    assert str(overdue_case.pk) in mail.outbox[0].subject


@pytest.mark.usefixtures("eager_celery")
def test_it_escalates_again_after_the_configured_working_days_up_to_the_top(
    overdue_case: Case,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.cases_escalate_overdue(now=at(2025, 2, 14, 9))
        assert services.cases_escalate_overdue(now=at(2025, 2, 20, 9)) == 0
        assert services.cases_escalate_overdue(now=at(2025, 2, 21, 9)) == 1
        assert services.cases_escalate_overdue(now=at(2025, 4, 1, 9)) == 0  # level 2 is the top

    overdue_case.refresh_from_db()
    assert overdue_case.escalation_level == 2
    assert overdue_case.escalation_due_on is None
    assert sorted(m.to[0] for m in mail.outbox) == ["huzhou@example.cn", "zhejiang@example.cn"]


def test_a_rectified_case_does_not_escalate(overdue_case: Case) -> None:
    case_set_status(
        case=overdue_case,
        to_status=CaseStatus.AWAITING_VERIFICATION,
        action=CaseAction.RECTIFY,
        actor=responsible_party("330523108"),
    )

    assert services.cases_escalate_overdue(now=at(2025, 3, 1, 9)) == 0


def test_a_notification_is_emailed_once_even_if_the_task_runs_twice(overdue_case: Case) -> None:
    services.cases_escalate_overdue(now=at(2025, 2, 14, 9))
    ids = list(CaseNotification.objects.values_list("id", flat=True))

    assert services.case_notifications_email(ids=ids) == 1
    assert services.case_notifications_email(ids=ids) == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_two_workers_at_once_escalate_once_and_notify_once() -> None:
    supervisor("3305", email="huzhou@example.cn")
    cases = [open_case(submitted_at=OPENED, now=OPENED) for _ in range(5)]
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(services.cases_escalate_overdue(now=at(2025, 2, 14, 9)))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(results) == 5
    for case in cases:
        case.refresh_from_db()
        assert case.escalation_level == 1
        assert case.events.filter(kind=CaseEvent.Kind.ESCALATED).count() == 1
    assert CaseNotification.objects.count() == 5
    assert len(mail.outbox) == 5


def test_the_beat_entries_exist_after_migrate() -> None:
    from django_celery_beat.models import PeriodicTask

    tasks = dict(PeriodicTask.objects.values_list("task", "queue"))

    assert tasks["inspections.cases.escalate_overdue"] == "default"
    assert tasks["inspections.cases.schedule_look_backs"] == "default"
    assert tasks["inspections.cases.warn_publication_due"] == "email"


# --- The claims, step by step (no workers, no waiting) ---------------------------------------


def test_of_two_claims_with_what_they_read_only_the_first_escalates(overdue_case: Case) -> None:
    now = at(2025, 2, 14, 9)
    (read,) = services.cases_escalation_due(now=now)
    case_id, level, due_on = read
    assert read == (overdue_case.pk, 0, dt.date(2025, 2, 14))

    first = services.case_escalation_claim(case_id=case_id, level=level, due_on=due_on, now=now)
    second = services.case_escalation_claim(case_id=case_id, level=level, due_on=due_on, now=now)

    assert (first, second) == (True, False)
    overdue_case.refresh_from_db()
    assert overdue_case.escalation_level == 1
    assert overdue_case.escalated_at == now
    assert overdue_case.escalation_due_on == dt.date(2025, 2, 21)  # five working days on
    assert services.cases_escalation_due(now=now) == []


def test_a_notification_is_claimed_once(overdue_case: Case) -> None:
    services.cases_escalate_overdue(now=at(2025, 2, 14, 9))
    (notification,) = CaseNotification.objects.all()
    sent_at = at(2025, 2, 14, 9, 1)

    first = services.case_notification_claim(notification_id=notification.pk, now=sent_at)
    second = services.case_notification_claim(notification_id=notification.pk, now=at(2025, 2, 14, 9, 2))

    assert (first, second) == (True, False)
    notification.refresh_from_db()
    assert notification.emailed_at == sent_at
    assert services.case_notifications_email(ids=[notification.pk], now=at(2025, 2, 14, 9, 3)) == 0
    assert mail.outbox == []
