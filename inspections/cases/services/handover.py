"""交办: a confirmed problem is handed to its responsible unit, who acknowledges receipt (签收)
and submits its measures (整改措施).

On 交办 (a reviewer's confirmation or the automatic 交办 on submission) every
account of the responsible unit is notified once: a :class:`CaseNotification`
of kind ``handed_over`` (listed by ``GET notifications/``) and an email with
the 交办单 attached, sent through the mail ledger (claimed, sent with a stable
Message-ID, retried on a transient SMTP error, never twice).

The unit's accounts are the active responsible-party accounts whose
jurisdiction covers the unit (the township's, or the village's township for a
village), and the named responsible person's account.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import Role, User
from inspections.cases.emails import handover_email
from inspections.cases.errors import CaseNotHandedOver, CaseNotReceived, MeasuresNotAllowed
from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import NOT_HANDED_OVER, RECTIFICATION_DUE, Case, CaseEvent, CaseNotification
from inspections.cases.policies import can_rectify
from inspections.cases.services.handover_sheet import handover_sheet_pdf
from inspections.common.dispatch import enqueue_on_commit_or_sweep
from inspections.common.errors import PermissionDenied
from inspections.common.mail import MailTransientError, mail_deliver, mail_record
from inspections.common.models import MailSend

# The mail ledger's key of a 交办 notice's email: the prefix and the notification's id.
HANDOVER_MAIL_PREFIX = "case_handover:"


def handover_recipients(case: Case) -> list[User]:
    """The accounts of the problem's responsible unit: responsible parties covering it, the named person."""
    code = case.responsible_unit.code
    prefixes = [code[:n] for n in (2, 4, 6, 9, 12) if n <= len(code)]
    covering = Q(groups__name=Role.RESPONSIBLE_PARTY, jurisdiction__code__in=prefixes)
    if case.responsible_person_id is not None:
        covering |= Q(pk=case.responsible_person_id)
    return list(User.objects.filter(covering, is_active=True).distinct().order_by("pk"))


def case_handover_notify(*, case: Case, now: dt.datetime) -> list[int]:
    """Notify the responsible unit of a problem just handed over; returns the notifications' ids.

    In the transaction of the 交办: the notices are written with it, and
    their emails are sent once it commits. Each account is notified once per
    problem, however often this is called.
    """
    recipients = handover_recipients(case)
    CaseNotification.objects.bulk_create(
        [
            CaseNotification(
                recipient=recipient,
                case=case,
                kind=CaseNotification.Kind.HANDED_OVER,
                level=0,
                created_at=now,
            )
            for recipient in recipients
        ],
        ignore_conflicts=True,
    )
    ids = list(
        CaseNotification.objects.filter(
            case=case, kind=CaseNotification.Kind.HANDED_OVER, emailed_at__isnull=True
        ).values_list("pk", flat=True)
    )
    if ids:
        # Never waits on the broker: notices not sent are sent by case_notifications_send_owed.
        enqueue_on_commit_or_sweep("inspections.cases.send_handover_notifications", ids)
    return ids


def _handover_builder(
    notification: CaseNotification, *, now: dt.datetime
) -> Callable[[MailSend], EmailMultiAlternatives | None]:
    return lambda _send: handover_email(
        notification=notification, sheet=lambda: handover_sheet_pdf(case=notification.case, now=now)
    )


def case_handover_emails(*, ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Email each of these 交办 notices once, the 交办单 attached; returns how many were sent now.

    Raises :class:`MailTransientError` after trying them all if any failed for a
    reason that may pass: the task retries, and what was sent is not sent again.
    """
    now = now or timezone.now()
    sent = 0
    transient: list[str] = []
    for notification_id in ids:
        notification = (
            CaseNotification.objects.select_related("recipient", "case__village", "case__category")
            .filter(pk=notification_id, kind=CaseNotification.Kind.HANDED_OVER, emailed_at__isnull=True)
            .first()
        )
        if notification is None:
            continue  # emailed already, or gone
        key = f"{HANDOVER_MAIL_PREFIX}{notification_id}"
        mail_record(kind="case_handed_over", key=key, recipient_id=notification.recipient_id)

        try:
            status = mail_deliver(key=key, build=_handover_builder(notification, now=now))
        except MailTransientError as exc:
            transient.append(str(exc))
            continue
        if status == MailSend.Status.SENT and CaseNotification.objects.filter(
            pk=notification_id, emailed_at__isnull=True
        ).update(emailed_at=now):
            sent += 1
    if transient:
        raise MailTransientError(f"{len(transient)} transient failure(s): {transient[0]}")
    return sent


_only_party = _("Only the responsible party may do this.")


@transaction.atomic
def case_receive(
    *, case: Case, actor: User, note: str = "", now: dt.datetime | None = None
) -> tuple[Case, bool]:
    """The responsible party acknowledges receipt (签收); returns ``(case, acknowledged now)``.

    Once: a second acknowledgement, by anyone of the unit, changes nothing and
    writes no event. The status is unchanged (starting to rectify is its own
    step). Refuses ``permission_denied`` to anyone but the responsible party
    and ``case_not_handed_over`` before 交办.
    """
    now = now or timezone.now()
    locked = case_lock(case)
    if not can_rectify(actor, locked):
        raise PermissionDenied(_only_party)
    if locked.status in NOT_HANDED_OVER:
        raise CaseNotHandedOver()
    if locked.received_at is not None:
        return locked, False
    locked.received_at, locked.received_by = now, actor
    case_event_append(
        locked,
        kind=CaseEvent.Kind.RECEIVED,
        actor=actor,
        from_status=locked.status,
        note=note,
        evidence={"received_by": actor.pk, "unit": locked.responsible_unit.code},
        now=now,
    )
    locked.save(update_fields=["received_at", "received_by", *HEAD_FIELDS])
    return locked, True


@transaction.atomic
def case_submit_measures(
    *, case: Case, actor: User, measures: str, now: dt.datetime | None = None
) -> tuple[Case, bool]:
    """The responsible party submits (or revises) its 整改措施; returns ``(case, changed)``.

    One ``measures`` event per new text; the same text again changes nothing.
    Refuses ``permission_denied`` to anyone but the responsible party,
    ``case_not_handed_over`` before 交办, ``case_not_received`` before 签收
    and ``measures_not_allowed`` unless a rectification is owed.
    """
    now = now or timezone.now()
    locked = case_lock(case)
    if not can_rectify(actor, locked):
        raise PermissionDenied(_only_party)
    if locked.status in NOT_HANDED_OVER:
        raise CaseNotHandedOver()
    if locked.received_at is None:
        raise CaseNotReceived()
    text = measures.strip()
    if locked.measures == text:
        return locked, False
    if locked.status not in RECTIFICATION_DUE:
        raise MeasuresNotAllowed()
    revision = bool(locked.measures)
    locked.measures, locked.measures_submitted_at = text, now
    case_event_append(
        locked,
        kind=CaseEvent.Kind.MEASURES,
        actor=actor,
        from_status=locked.status,
        note=text,
        evidence={"revision": revision},
        now=now,
    )
    locked.save(update_fields=["measures", "measures_submitted_at", *HEAD_FIELDS])
    return locked, True
