"""Digests (定期调度): who gets one, the email, and sending each exactly once.

The pipeline, in the manner of healthchecks' reports and Zulip's digests:

1. **Fan-out** (:func:`digests_fan_out`, run by beat): list the recipients
   of a kind, write a ``pending`` :class:`DigestSend` per recipient for the
   period (the unique key (recipient, kind, period) makes this idempotent),
   and enqueue chunks of recipient ids on the email queue, leaving out the
   ones already sent or skipped.
2. **Claim** (:func:`digest_claim`): one conditional UPDATE moves the row to
   ``claimed`` only if it is pending, failed with attempts left, or claimed
   by a worker that died (claimed longer ago than the claim timeout). Two
   workers, a duplicate beat firing or a redelivered task: one UPDATE wins,
   the others change no row and move on.
3. **Build and send** (:func:`digest_deliver`): figures from
   :mod:`inspections.digests.selectors`, an email in the recipient's language
   (:mod:`inspections.digests.emails`),
   then the row is completed (``sent``, or ``skipped`` when the digest is
   empty and the recipient did not ask for empty ones). A transient SMTP or
   database error marks the row ``failed`` and the chunk task retries; only
   those rows are claimed again.

What this cannot do: if a worker dies *after* the SMTP server accepted a
message and *before* the row is marked sent, the claim goes stale and the
message is sent again once the timeout passes. The window is the length of
one UPDATE; the Message-ID is the same for both copies (derived from
recipient, kind and period), so mail systems that deduplicate by Message-ID
show it once.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db.models import F, Q
from django.utils import timezone

from inspections.common.dispatch import enqueue_on_commit
from inspections.common.mail import is_transient
from inspections.digests.emails import digest_message
from inspections.digests.models import DigestSend, DigestSubscription
from inspections.digests.recipients import digest_recipients
from inspections.digests.selectors import Period, digest_build, digest_prefix

logger = logging.getLogger(__name__)


class DigestTransientError(Exception):
    """A send failed for a reason that may pass (SMTP 4xx, connection, database): retry.

    Not a :class:`~inspections.common.errors.DomainError`: nobody is refused
    anything. It tells the chunk task to retry, and only this error does.
    """


# --- Exactly once ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    recipient_id: int
    status: str  # a DigestSend status, or "not_claimed" when another worker has it or it is done
    reason: str = ""


def _claimable(now: dt.datetime) -> Q:
    stale = now - dt.timedelta(seconds=settings.QINGSHAN_DIGEST_CLAIM_TIMEOUT_SECONDS)
    return (
        Q(status=DigestSend.Status.PENDING)
        | Q(status=DigestSend.Status.FAILED, attempts__lt=settings.QINGSHAN_DIGEST_MAX_ATTEMPTS)
        | Q(status=DigestSend.Status.CLAIMED, claimed_at__lt=stale)
    )


def digest_claim(
    *, recipient_id: int, kind: str, period: Period, now: dt.datetime | None = None
) -> DigestSend | None:
    """Claim the send of (recipient, kind, period) for this caller, or ``None`` if it is not ours.

    The row is inserted if missing (the unique key makes concurrent inserts
    collapse into one), then taken by a conditional UPDATE: only one caller
    can move it from a claimable state to ``claimed`` with its own token.
    """
    now = now or timezone.now()
    key = {"recipient_id": recipient_id, "kind": kind, "period_start": period.start}
    DigestSend.objects.bulk_create([DigestSend(**key)], ignore_conflicts=True)
    token = DigestSend.new_token()
    # A sort of optimistic lock: the UPDATE matches only while the row is claimable,
    # so of two callers racing for it, the database lets exactly one change it.
    claimed = (
        DigestSend.objects.filter(**key)
        .filter(_claimable(now))
        .update(
            status=DigestSend.Status.CLAIMED,
            claim_token=token,
            claimed_at=now,
            attempts=F("attempts") + 1,
            reason="",
        )
    )
    if not claimed:
        return None
    return DigestSend.objects.get(**key, claim_token=token)


def _finish(
    claim: DigestSend, *, status: str, reason: str = "", now: dt.datetime | None = None, **fields: Any
) -> bool:
    """Complete a claim this caller holds; ``False`` if it was taken over meanwhile."""
    if status in (DigestSend.Status.SENT, DigestSend.Status.SKIPPED):
        fields["completed_at"] = now or timezone.now()
    finished = DigestSend.objects.filter(
        pk=claim.pk, claim_token=claim.claim_token, status=DigestSend.Status.CLAIMED
    ).update(status=status, reason=reason[:300], **fields)
    if not finished:
        logger.warning("digest send %s: claim lost before completion (%s)", claim.pk, status)
    return bool(finished)


def digest_deliver(
    *,
    recipient_id: int,
    kind: str,
    period: Period,
    connection: BaseEmailBackend | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """Build and send one digest if this caller claims it; record what happened.

    Raises :class:`DigestTransientError` after recording a transient failure,
    so that the calling task retries (the row is claimable again).
    """
    claim = digest_claim(recipient_id=recipient_id, kind=kind, period=period, now=now)
    if claim is None:
        return Outcome(recipient_id, "not_claimed")
    try:
        recipient = (
            digest_recipients(kind=kind).select_related("jurisdiction").filter(pk=recipient_id).first()
        )
        if recipient is None:
            _finish(claim, now=now, status=DigestSend.Status.SKIPPED, reason="not a recipient")
            return Outcome(recipient_id, DigestSend.Status.SKIPPED, "not a recipient")
        prefix = digest_prefix(recipient)
        assert prefix is not None and recipient.jurisdiction is not None  # recipients have a jurisdiction
        subscription = DigestSubscription.objects.filter(user_id=recipient_id, kind=kind).first()
        digest = digest_build(prefix=prefix, period=period, language=recipient.language, now=now)
        summary = digest.summary()
        if digest.is_empty and not (subscription is not None and subscription.send_empty):
            _finish(claim, now=now, status=DigestSend.Status.SKIPPED, reason="empty", summary=summary)
            return Outcome(recipient_id, DigestSend.Status.SKIPPED, "empty")
        message = digest_message(
            recipient=recipient,
            digest=digest,
            division_name=recipient.jurisdiction.name,
            connection=connection,
        )
        message.send()
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        logger.warning("digest %s %s to user %s failed: %s", kind, period.start, recipient_id, reason)
        if is_transient(exc):
            # Failed rows stay claimable while attempts remain: the task retries them.
            _finish(claim, now=now, status=DigestSend.Status.FAILED, reason=reason)
            if claim.attempts < settings.QINGSHAN_DIGEST_MAX_ATTEMPTS:
                raise DigestTransientError(reason) from exc
            return Outcome(recipient_id, DigestSend.Status.FAILED, reason)
        if isinstance(exc, smtplib.SMTPException):
            # A permanent refusal (5xx): failed for good, no retry would change it.
            _finish(
                claim,
                now=now,
                status=DigestSend.Status.FAILED,
                reason=reason,
                attempts=settings.QINGSHAN_DIGEST_MAX_ATTEMPTS,
            )
            return Outcome(recipient_id, DigestSend.Status.FAILED, reason)
        # Anything else is a bug or an interruption (time limit): recorded, claimable by a rerun.
        _finish(claim, now=now, status=DigestSend.Status.FAILED, reason=reason)
        raise
    _finish(
        claim,
        now=now,
        status=DigestSend.Status.SENT,
        message_id=message.extra_headers["Message-ID"],
        language=recipient.language,
        summary=summary,
    )
    return Outcome(recipient_id, DigestSend.Status.SENT)


def digests_deliver_chunk(
    *, kind: str, period: Period, recipient_ids: list[int], connection: BaseEmailBackend | None = None
) -> list[Outcome]:
    """Deliver a chunk over one SMTP connection; raises :class:`DigestTransientError` at the end
    if any recipient failed transiently (after trying all the others)."""
    connection = connection or get_connection()
    outcomes: list[Outcome] = []
    transient: list[str] = []
    try:
        for recipient_id in recipient_ids:
            try:
                outcomes.append(
                    digest_deliver(recipient_id=recipient_id, kind=kind, period=period, connection=connection)
                )
            except DigestTransientError as exc:
                transient.append(str(exc))
                connection.close()  # a broken connection is reopened by the next send
    finally:
        connection.close()
    if transient:
        raise DigestTransientError(f"{len(transient)} transient failure(s): {transient[0]}")
    return outcomes


# --- Fan-out -------------------------------------------------------------------------------


def digests_fan_out(*, kind: str, period: Period, recipient_ids: list[int] | None = None) -> list[list[int]]:
    """Record a pending send per recipient and enqueue the ones not done yet, in chunks.

    Idempotent: a second run (duplicate beat firing, a rerun after a crash)
    enqueues only recipients whose digest is not sent, skipped or failed for
    good; their chunks find nothing to claim for the ones a worker is on.
    Returns the chunks enqueued.
    """
    wanted = recipient_ids
    if wanted is None:
        wanted = list(digest_recipients(kind=kind).order_by("pk").values_list("pk", flat=True))
    DigestSend.objects.bulk_create(
        [DigestSend(recipient_id=pk, kind=kind, period_start=period.start) for pk in wanted],
        ignore_conflicts=True,
        batch_size=1000,
    )
    done = set(
        DigestSend.objects.filter(kind=kind, period_start=period.start)
        .filter(
            Q(status__in=[DigestSend.Status.SENT, DigestSend.Status.SKIPPED])
            | Q(status=DigestSend.Status.FAILED, attempts__gte=settings.QINGSHAN_DIGEST_MAX_ATTEMPTS)
        )
        .values_list("recipient_id", flat=True)
    )
    todo = [pk for pk in wanted if pk not in done]
    size = max(settings.QINGSHAN_DIGEST_CHUNK_SIZE, 1)
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    for chunk in chunks:
        enqueue_on_commit("inspections.digests.send_chunk", kind, period.start.isoformat(), chunk)
    return chunks
