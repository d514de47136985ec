"""Escalation (督办): an overdue case is raised to the next level up, whose supervisors are told.

A case is due at its deadline (the day after it) and again a configurable
number of working days after each escalation, up to the top level. The
periodic job claims each case with a conditional UPDATE on its current level
and due day (:func:`case_escalation_claim`): two workers, or a rerun, act
once. Each notification's email goes through the mail ledger
(:mod:`inspections.common.mail`): claimed, sent with a stable Message-ID,
completed, and retried on a transient SMTP error; the notification is marked
emailed once it is sent (:func:`case_notification_claim`).

:func:`deadline_moved` is the one door for a deadline that moves after the
problem was handed over (an approved 延期, a recount when a holiday year is
entered, a per-problem change of the time limit): it moves the deadline and
recomputes the escalation and the 督办 ladder (:mod:`.ladder`) in one event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import Role, User
from inspections.cases.emails import escalation_email
from inspections.cases.errors import CaseEscalationAtTop, CaseNotEscalable
from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import RECTIFICATION_DUE, Case, CaseEvent, CaseNotification, LadderStep
from inspections.cases.policies import can_supervise
from inspections.common.china_time import local_date
from inspections.common.dispatch import enqueue_on_commit_or_sweep
from inspections.common.errors import PermissionDenied
from inspections.common.mail import MailTransientError, mail_deliver, mail_record
from inspections.common.models import MailSend
from inspections.workdays.calendar import add_working_days

# The mail ledger's key of an escalation notice's email: the prefix and the notification's id.
ESCALATION_MAIL_PREFIX = "case_notification:"


def escalation_recipients(*, case: Case, level: int) -> list[User]:
    """Supervisors of the next level up: the prefecture at level 1, the province at 2."""
    code_length = {1: 4, 2: 2}.get(level, 2)
    target = case.village.code[:code_length]
    return list(
        User.objects.filter(
            is_active=True, groups__name=Role.SUPERVISOR, jurisdiction__code=target
        ).distinct()
    )


def escalation_next_due(level: int, today: dt.date) -> dt.date | None:
    """The day a case escalated to ``level`` today is due again; None at the top level."""
    if level >= settings.QINGSHAN_ESCALATION_MAX_LEVEL:
        return None
    return add_working_days(today, settings.QINGSHAN_ESCALATION_STEP_WORKING_DAYS).date


def _escalation_record(
    case_id: int, *, level: int, actor: User | None, note: str, now: dt.datetime
) -> list[int]:
    """Write the event and the notifications of an escalation this caller claimed; returns their ids.

    The notifications are emailed after commit, each claimed again there.
    """
    locked = Case.objects.select_for_update().select_related("village", "category").get(pk=case_id)
    case_event_append(
        locked,
        kind=CaseEvent.Kind.ESCALATED,
        actor=actor,
        from_status=locked.status,
        note=note,
        evidence={"level": level, "deadline": locked.deadline.isoformat()},
        now=now,
    )
    locked.save(update_fields=HEAD_FIELDS)
    notifications = [
        CaseNotification(
            recipient=recipient,
            case=locked,
            kind=CaseNotification.Kind.ESCALATED,
            level=level,
            created_at=now,
        )
        for recipient in escalation_recipients(case=locked, level=level)
    ]
    CaseNotification.objects.bulk_create(notifications, ignore_conflicts=True)
    ids = list(
        CaseNotification.objects.filter(
            case=locked, kind=CaseNotification.Kind.ESCALATED, level=level, emailed_at__isnull=True
        ).values_list("id", flat=True)
    )
    if ids:
        # Never waits on the broker: notices not sent are sent by case_notifications_send_owed.
        enqueue_on_commit_or_sweep("inspections.cases.send_notifications", ids)
    return ids


def case_escalation_claim(*, case_id: int, level: int, due_on: dt.date | None, now: dt.datetime) -> bool:
    """Raise the case from ``level`` to the next if it still is at ``level`` and due on ``due_on``.

    Returns whether this caller raised it. A sort of optimistic lock: the
    UPDATE only matches the row as it was read, so of two callers (two
    workers, or a rerun) exactly one gets ``True``.
    """
    claimed = Case.objects.filter(
        pk=case_id, status__in=RECTIFICATION_DUE, escalation_level=level, escalation_due_on=due_on
    ).update(
        escalation_level=level + 1,
        escalated_at=now,
        escalation_due_on=escalation_next_due(level + 1, local_date(now)),
    )
    return bool(claimed)


def cases_escalation_due(*, now: dt.datetime) -> list[tuple[int, int, dt.date | None]]:
    """``(case id, level, due day)`` of every case due for escalation on ``now``'s day in China.

    What a worker read: each row is then claimed with exactly these values by
    :func:`case_escalation_claim`, which fails if another worker got there first.
    """
    return list(
        Case.objects.filter(
            status__in=RECTIFICATION_DUE,
            escalation_due_on__lte=local_date(now),
            escalation_level__lt=settings.QINGSHAN_ESCALATION_MAX_LEVEL,
        )
        .order_by("id")
        .values_list("id", "escalation_level", "escalation_due_on")
    )


def cases_escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Raise the escalation level of every case due for it on ``now``'s day in China; returns how many rose.

    The periodic job (hourly). Each case is claimed on its own, in its own
    transaction, so a second run or a second worker finds nothing left.
    """
    now = now or timezone.now()
    raised = 0
    for case_id, level, due_on in cases_escalation_due(now=now):
        with transaction.atomic():
            if not case_escalation_claim(case_id=case_id, level=level, due_on=due_on, now=now):
                continue
            _escalation_record(case_id, level=level + 1, actor=None, note="overdue", now=now)
            raised += 1
    return raised


def case_escalate_check(*, case: Case, actor: User) -> None:
    """Refuse unless ``actor`` may escalate ``case`` by hand now (see :func:`case_escalate`). Writes nothing.

    Escalation is no move of :data:`~inspections.cases.models.TRANSITIONS`:
    this is its rule, asked by the service and by the problem page's button.
    """
    if not can_supervise(actor, case):
        raise PermissionDenied(_("Only a supervisor of the village may do this."))
    if case.status not in RECTIFICATION_DUE:
        raise CaseNotEscalable()
    if case.escalation_level >= settings.QINGSHAN_ESCALATION_MAX_LEVEL:
        raise CaseEscalationAtTop()


@transaction.atomic
def case_escalate(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """A supervisor of the village escalates a case by hand (admin action); returns it one level up.

    Escalation is not a status change: the case keeps its status and gets an
    ``escalated`` event. Refuses ``permission_denied`` to anyone but a
    supervisor of the village, ``case_not_escalable`` once the case no longer
    awaits a rectification, and ``case_escalation_at_top`` at the top level.
    """
    now = now or timezone.now()
    locked = case_lock(case)
    case_escalate_check(case=locked, actor=actor)
    level = locked.escalation_level + 1
    Case.objects.filter(pk=locked.pk).update(
        escalation_level=level,
        escalated_at=now,
        escalation_due_on=escalation_next_due(level, local_date(now)),
    )
    _escalation_record(locked.pk, level=level, actor=actor, note=note, now=now)
    return Case.objects.get(pk=locked.pk)


def case_notification_claim(*, notification_id: int, now: dt.datetime) -> bool:
    """Mark the notification emailed at ``now`` unless it already was; returns whether this caller did.

    Done once its email is sent (the mail ledger has claimed and sent it);
    a notification marked emailed is never sent again.
    """
    return bool(
        CaseNotification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(emailed_at=now)
    )


def _escalation_builder(
    notification: CaseNotification,
) -> Callable[[MailSend], EmailMultiAlternatives | None]:
    return lambda _send: escalation_email(notification=notification)


def case_notifications_email(*, ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Email each of these notifications once; returns how many were sent now."""
    now = now or timezone.now()
    sent = 0
    transient: list[str] = []
    for notification_id in ids:
        notification = (
            CaseNotification.objects.select_related("recipient", "case__village", "case__category")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notification is None:
            continue  # emailed already, or gone
        key = f"{ESCALATION_MAIL_PREFIX}{notification_id}"
        mail_record(kind="case_escalated", key=key, recipient_id=notification.recipient_id)
        try:
            status = mail_deliver(key=key, build=_escalation_builder(notification))
        except MailTransientError as exc:
            transient.append(str(exc))
            continue
        if status == MailSend.Status.SENT and case_notification_claim(
            notification_id=notification_id, now=now
        ):
            sent += 1
    if transient:
        # The task retries; what was sent is not claimable again, what failed is.
        raise MailTransientError(f"{len(transient)} transient failure(s): {transient[0]}")
    return sent


@transaction.atomic
def deadline_moved(
    case: Case,
    *,
    to: dt.date,
    actor: User | None,
    why: str,
    now: dt.datetime | None = None,
    event_kind: str = CaseEvent.Kind.DEADLINE,
    note: str = "",
    evidence: dict[str, Any] | None = None,
    warning: str = "",
    fields: dict[str, Any] | None = None,
) -> Case:
    """Move the problem's deadline to ``to`` and recompute its escalation; returns the case as saved.

    The one function every deadline change goes through (延期 approved, a
    holiday year entered, a per-problem time limit changed). It locks the case,
    sets the deadline (and ``warning``, the calendar's, and any other
    ``fields`` of the caller, such as the working days given), and appends one
    ``event_kind`` event carrying the caller's ``evidence``. When the new
    deadline is later than the old one and has not passed, a problem escalated
    or sent a 督办单 under the old deadline is de-escalated: its level returns
    to 0, its 督办单 are withdrawn (the ladder starts again under the new
    deadline, 提醒 first), and the event's evidence says so under
    ``de_escalated`` (``{"from": level, "to": 0, "why": why}``) and
    ``withdrawn_steps``. While the level is 0 the escalation clock restarts the
    day after the new deadline.
    """
    now = now or timezone.now()
    locked = case_lock(case)
    old = locked.deadline
    recorded = dict(evidence or {})
    update = ["deadline", "deadline_warning", *HEAD_FIELDS]
    for name, value in (fields or {}).items():
        setattr(locked, name, value)
        update.append(name)
    locked.deadline, locked.deadline_warning = to, warning
    active = LadderStep.objects.filter(
        case=locked, kind=LadderStep.Kind.SUPERVISION, withdrawn_at__isnull=True
    ).exclude(deadline=to)
    if to > old and to >= local_date(now):
        withdrawn = list(active.values_list("id", flat=True))
        if locked.escalation_level > 0:
            recorded["de_escalated"] = {"from": locked.escalation_level, "to": 0, "why": why}
            locked.escalation_level = 0
            update.append("escalation_level")
        if withdrawn:
            LadderStep.objects.filter(pk__in=withdrawn).update(withdrawn_at=now, withdrawn_reason=why[:200])
            recorded["withdrawn_steps"] = withdrawn
    if locked.escalation_level == 0:
        locked.escalation_due_on = to + dt.timedelta(days=1)
        update.append("escalation_due_on")
    case_event_append(
        locked,
        kind=event_kind,
        actor=actor,
        from_status=locked.status,
        note=note,
        evidence=recorded,
        now=now,
    )
    locked.save(update_fields=list(dict.fromkeys(update)))
    return locked
