"""The 交办 and escalation notices whose email is still owed, sent by a periodic job.

Each notice's email is sent by a task published once its transaction commits,
with a bounded publish that never waits on the broker
(:func:`~inspections.common.dispatch.enqueue_on_commit_or_sweep`). When that
message was never sent (the broker down or unreachable at the commit, the web
process killed right after it, a commit whose answer was lost) or its task was
lost, the notice is still there, not emailed: this job sends it. The mail
ledger claims each email, so a late task and this job never send one twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from inspections.cases.models import CaseNotification
from inspections.cases.services.escalation import ESCALATION_MAIL_PREFIX, case_notifications_email
from inspections.cases.services.handover import HANDOVER_MAIL_PREFIX, case_handover_emails
from inspections.common.mail import MailTransientError, mails_not_claimable

logger = logging.getLogger(__name__)

# At most this many notices of each kind a run (the next run takes the rest).
BATCH = 500

Sender = Callable[..., int]

# Each kind of notice: its mail ledger's key prefix and what emails it.
SENDERS: dict[str, tuple[str, Sender]] = {
    CaseNotification.Kind.HANDED_OVER: (HANDOVER_MAIL_PREFIX, case_handover_emails),
    CaseNotification.Kind.ESCALATED: (ESCALATION_MAIL_PREFIX, case_notifications_email),
}


def case_notifications_owed(*, kind: str, now: dt.datetime) -> list[int]:
    """The ids of the notices of ``kind`` whose email is owed and whose own send had its time.

    Not emailed, made longer ago than ``QINGSHAN_MAIL_CLAIM_TIMEOUT_SECONDS`` (their task has
    had the time a claim is given), and without an email in the ledger that nobody may claim
    (sent, left out, failed for good, or being sent). Oldest first.
    """
    prefix, _send = SENDERS[kind]
    made_before = now - dt.timedelta(seconds=settings.QINGSHAN_MAIL_CLAIM_TIMEOUT_SECONDS)
    key = Concat(Value(prefix), Cast(OuterRef("pk"), output_field=CharField()), output_field=CharField())
    settled = mails_not_claimable(now=now).filter(key=key)
    return list(
        CaseNotification.objects.filter(kind=kind, emailed_at__isnull=True, created_at__lt=made_before)
        .exclude(Exists(settled))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:BATCH]
    )


def case_notifications_send_owed(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic job: email every owed notice (:func:`case_notifications_owed`); how many went, by kind.

    A transient SMTP failure leaves the notices it hit owed, for the next run (their kind then
    counts 0 here: the ledger says what went).
    """
    now = now or timezone.now()
    sent: dict[str, int] = {}
    for kind, (_prefix, send) in SENDERS.items():
        ids: Iterable[int] = case_notifications_owed(kind=kind, now=now)
        try:
            sent[kind] = send(ids=ids, now=now)
        except MailTransientError as exc:
            logger.warning("owed %s notices: %s", kind, exc)
            sent[kind] = 0
    return sent
