"""Sending an email exactly once, retrying what may pass: the mail ledger's services.

The same steps as the digests (:mod:`inspections.digests.services`), for any
email keyed by what it is about:

1. **record** (:func:`mail_record`): a ``pending`` :class:`MailSend` per key,
   written once however often it is asked for;
2. **claim** (:func:`mail_claim`): one conditional UPDATE moves it to
   ``claimed``, only if it is pending, failed with attempts left, or claimed by
   a worker that died;
3. **send and complete** (:func:`mail_deliver`): the concern builds the message
   (``None``: nothing to send, ``skipped``), it goes out with a Message-ID
   derived from the key (the same for every attempt, so a copy sent twice
   across a crash is recognisably one), and the row is ``sent``. A transient
   error (SMTP 4xx, a lost connection, the database) records ``failed`` and
   raises :class:`MailTransientError`, for the calling task to retry; a
   permanent refusal (SMTP 5xx) is failed for good.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import smtplib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from inspections.common.database_errors import database_errors
from inspections.common.models import MailSend

logger = logging.getLogger(__name__)


class MailTransientError(Exception):
    """A send failed for a reason that may pass: the calling task retries (only on this error)."""


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: SMTP 4xx replies, lost connections, timeouts, database hiccups."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    transient: tuple[type[BaseException], ...] = (
        smtplib.SMTPServerDisconnected,
        ConnectionError,
        TimeoutError,
        *database_errors(),
    )
    return isinstance(exc, transient)


def mail_message_id(key: str) -> str:
    """The Message-ID of the email ``key``: the same for every attempt."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "qingshan.invalid"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"<mail.{digest}@{domain}>"


def mail_record(*, kind: str, key: str, recipient_id: int, args: dict[str, Any] | None = None) -> None:
    """Owe ``recipient`` the email ``key`` (once: a second record of the same key changes nothing)."""
    MailSend.objects.bulk_create(
        [MailSend(kind=kind, key=key, recipient_id=recipient_id, args=args or {})], ignore_conflicts=True
    )


def _claimable(now: dt.datetime) -> Q:
    stale = now - dt.timedelta(seconds=settings.QINGSHAN_MAIL_CLAIM_TIMEOUT_SECONDS)
    return (
        Q(status=MailSend.Status.PENDING)
        | Q(status=MailSend.Status.FAILED, attempts__lt=settings.QINGSHAN_MAIL_MAX_ATTEMPTS)
        | Q(status=MailSend.Status.CLAIMED, claimed_at__lt=stale)
    )


def mails_claimable(*, kind: str, now: dt.datetime | None = None) -> QuerySet[MailSend]:
    """The emails of ``kind`` still owed: pending, failed with attempts left, or stale claims."""
    return MailSend.objects.filter(kind=kind).filter(_claimable(now or timezone.now())).order_by("pk")


def mails_not_claimable(*, now: dt.datetime | None = None) -> QuerySet[MailSend]:
    """The emails no caller may claim now: sent, skipped, failed for good, or claimed within the timeout."""
    return MailSend.objects.exclude(_claimable(now or timezone.now()))


def mail_claim(*, key: str, now: dt.datetime | None = None) -> MailSend | None:
    """Claim the email ``key`` for this caller, or ``None`` if another has it or it is done."""
    now = now or timezone.now()
    token = MailSend.new_token()
    claimed = (
        MailSend.objects.filter(key=key)
        .filter(_claimable(now))
        .update(
            status=MailSend.Status.CLAIMED,
            claim_token=token,
            claimed_at=now,
            attempts=F("attempts") + 1,
            reason="",
        )
    )
    if not claimed:
        return None
    return MailSend.objects.get(key=key, claim_token=token)


def _finish(claim: MailSend, *, status: str, reason: str = "", now: dt.datetime, **fields: Any) -> None:
    if status in (MailSend.Status.SENT, MailSend.Status.SKIPPED):
        fields["completed_at"] = now
    finished = MailSend.objects.filter(
        pk=claim.pk, claim_token=claim.claim_token, status=MailSend.Status.CLAIMED
    ).update(status=status, reason=reason[:300], **fields)
    if not finished:
        logger.warning("mail %s: claim lost before completion (%s)", claim.key, status)


def mail_deliver(
    *, key: str, build: Callable[[MailSend], EmailMessage | None], now: dt.datetime | None = None
) -> str:
    """Claim, build, send and complete the email ``key``; the status it ends in, or ``"not_claimed"``.

    Raises :class:`MailTransientError` after recording a transient failure while
    attempts remain.
    """
    now = now or timezone.now()
    claim = mail_claim(key=key, now=now)
    if claim is None:
        return "not_claimed"
    try:
        message = build(claim)
        if message is None:
            _finish(claim, status=MailSend.Status.SKIPPED, reason="nothing to send", now=now)
            return MailSend.Status.SKIPPED
        message_id = mail_message_id(key)
        message.extra_headers["Message-ID"] = message_id
        message.send()
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        logger.warning("mail %s failed: %s", key, reason)
        if is_transient(exc):
            _finish(claim, status=MailSend.Status.FAILED, reason=reason, now=now)
            if claim.attempts < settings.QINGSHAN_MAIL_MAX_ATTEMPTS:
                raise MailTransientError(reason) from exc
            return MailSend.Status.FAILED
        if isinstance(exc, smtplib.SMTPException):
            _finish(
                claim,
                status=MailSend.Status.FAILED,
                reason=reason,
                now=now,
                attempts=settings.QINGSHAN_MAIL_MAX_ATTEMPTS,
            )
            return MailSend.Status.FAILED
        _finish(claim, status=MailSend.Status.FAILED, reason=reason, now=now)
        raise
    _finish(claim, status=MailSend.Status.SENT, now=now, message_id=message_id)
    return MailSend.Status.SENT
