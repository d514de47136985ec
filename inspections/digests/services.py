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
   ``inspections.selectors_digests``, an email in the recipient's language,
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

import csv
import datetime as dt
import io
import logging
import smtplib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from inspections.accounts.models import User
from inspections.common.dispatch import enqueue_on_commit
from inspections.digests.models import DigestKind, DigestSend, DigestSubscription
from inspections.digests.selectors import Digest, Period, digest_build, digest_prefix

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "inspections.digests.unsubscribe"
TEMPLATE = "inspections/email/digest"


class DigestTransientError(Exception):
    """A send failed for a reason that may pass (SMTP 4xx, connection, database): retry."""


# --- Recipients ---------------------------------------------------------------------


def _permission_q() -> Q:
    """Holds ``inspections.receive_digest`` directly or through a group (superusers: all)."""
    permission = Permission.objects.filter(
        content_type__app_label="inspections", codename="receive_digest"
    ).values("pk")
    via_group = Exists(
        User.groups.through.objects.filter(user_id=OuterRef("pk"), group__permissions__in=permission)
    )
    direct = Exists(
        User.user_permissions.through.objects.filter(user_id=OuterRef("pk"), permission__in=permission)
    )
    return Q(is_superuser=True) | Q(via_group) | Q(direct)


def digest_recipients(*, kind: str) -> QuerySet[User]:
    """Who receives ``kind`` digests: active accounts with an address, a jurisdiction
    and the digest permission (supervisors carry it), who have not opted out of it."""
    opted_out = DigestSubscription.objects.filter(user_id=OuterRef("pk"), kind=kind, enabled=False)
    return (
        User.objects.filter(is_active=True, jurisdiction__isnull=False)
        .exclude(email="")
        .filter(_permission_q())
        .filter(~Exists(opted_out))
    )


def digest_subscription_set(*, user: User, kind: str, enabled: bool, send_empty: bool | None = None) -> None:
    """Opt ``user`` in or out of ``kind`` (and optionally ask for empty digests)."""
    defaults: dict[str, Any] = {"enabled": enabled}
    if send_empty is not None:
        defaults["send_empty"] = send_empty
    DigestSubscription.objects.update_or_create(user=user, kind=kind, defaults=defaults)


# --- One-click unsubscribe (RFC 8058) -----------------------------------------------------


def unsubscribe_token(*, user: User, kind: str) -> str:
    """A signed token naming the user and the kind; it does not expire (the link is in old emails)."""
    return signing.dumps({"u": user.pk, "k": kind}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token_read(token: str) -> tuple[int, str] | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") not in DigestKind.values:
        return None
    return int(data["u"]), str(data["k"])


def unsubscribe_url(*, user: User, kind: str) -> str:
    path = reverse("digest-unsubscribe", args=[unsubscribe_token(user=user, kind=kind)])
    return f"{settings.QINGSHAN_SITE_URL}{path}"


@transaction.atomic
def digest_unsubscribe(*, token: str) -> tuple[User, str] | None:
    """Opt the token's user out of the token's kind; ``None`` if the token is not ours."""
    read = unsubscribe_token_read(token)
    if read is None:
        return None
    user = User.objects.filter(pk=read[0]).first()
    if user is None:
        return None
    digest_subscription_set(user=user, kind=read[1], enabled=False)
    return user, read[1]


# --- The email ------------------------------------------------------------------------


def _admin_url(name: str, *args: Any) -> str:
    return f"{settings.QINGSHAN_SITE_URL}{reverse(name, args=args)}"


def _bars(rows: list[Any], value: Any) -> list[dict[str, Any]]:
    """Rows with a bar width in percent of the largest value: charts drawn as table cells."""
    largest = max((value(row) for row in rows), default=0) or 1
    return [
        {"row": row, "pct": max(round(100 * value(row) / largest), 1 if value(row) else 0)} for row in rows
    ]


def digest_csv(digest: Digest) -> bytes:
    """The overdue list as CSV, UTF-8 with a byte-order mark so Excel reads the Chinese."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            translation.gettext("Case"),
            translation.gettext("Village code"),
            translation.gettext("Village"),
            translation.gettext("Problem"),
            translation.gettext("Domain"),
            translation.gettext("Severity"),
            translation.gettext("Status"),
            translation.gettext("Opened"),
            translation.gettext("Deadline"),
            translation.gettext("Days overdue"),
            translation.gettext("Escalation level"),
            translation.gettext("Link"),
        ]
    )
    link = _admin_url("admin:inspections_case_change", 0).replace("/0/", "/{}/")
    for row in digest.overdue_rows:
        writer.writerow(
            [
                row.id,
                row.village_code,
                row.village_name,
                row.category,
                row.domain,
                row.severity,
                row.status,
                row.opened_on.isoformat(),
                row.deadline.isoformat(),
                row.days_overdue,
                row.escalation_level,
                link.format(row.id),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def digest_message_id(*, recipient_id: int, kind: str, period: Period) -> str:
    """The same Message-ID for every attempt at one digest, so a resend is recognisably one."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "qingshan.invalid"
    return f"<digest.{kind}.{period.start:%Y%m%d}.{recipient_id}@{domain}>"


def digest_render(*, recipient: User, digest: Digest, division_name: str) -> dict[str, Any]:
    """Subject, text, HTML and CSV of a digest, in the recipient's language."""
    language = recipient.language or settings.LANGUAGE_CODE
    with translation.override(language):
        coverage, coverage_prev = digest.coverage
        case_link = _admin_url("admin:inspections_case_change", 0).replace("/0/", "/{}/")
        context = {
            "recipient": recipient,
            "digest": digest,
            "division_name": division_name,
            "kind": DigestKind(digest.period.kind),
            "kind_label": DigestKind(digest.period.kind).label,
            "period_label": digest.period.label(),
            "previous_label": digest.period.previous.label(),
            "coverage": None if coverage is None else round(coverage * 100),
            "coverage_prev": None if coverage_prev is None else round(coverage_prev * 100),
            "domain_bars": _bars(digest.by_domain, lambda b: b.new.current),
            "severity_bars": _bars(digest.by_severity, lambda b: b.new.current),
            "village_bars": _bars(digest.top_villages, lambda v: v.open.current),
            "overdue_shown": [
                {"row": row, "url": case_link.format(row.id)} for row in digest.overdue_rows[:15]
            ],
            "overdue_more": max(digest.overdue.current - 15, 0),
            "due_soon_shown": [{"row": row, "url": case_link.format(row.id)} for row in digest.due_soon_rows],
            "cases_url": _admin_url("admin:inspections_case_changelist"),
            "log_url": _admin_url("admin:inspections_digestsend_changelist"),
            "unsubscribe_url": unsubscribe_url(user=recipient, kind=digest.period.kind),
            "site_url": settings.QINGSHAN_SITE_URL,
        }
        subject = " ".join(render_to_string(f"{TEMPLATE}.subject.txt", context).split())
        text = render_to_string(f"{TEMPLATE}.txt", context)
        html = render_to_string(f"{TEMPLATE}.html", context)
        attachment = digest_csv(digest) if digest.overdue_rows else None
        filename = f"overdue-{digest.prefix or 'all'}-{digest.period.start:%Y%m%d}.csv"
    return {
        "subject": subject,
        "text": text,
        "html": html,
        "csv": attachment,
        "csv_name": filename,
        "language": language,
        "unsubscribe_url": context["unsubscribe_url"],
    }


def digest_message(
    *,
    recipient: User,
    digest: Digest,
    division_name: str,
    connection: BaseEmailBackend | None = None,
) -> EmailMultiAlternatives:
    rendered = digest_render(recipient=recipient, digest=digest, division_name=division_name)
    headers = {
        "Message-ID": digest_message_id(
            recipient_id=recipient.pk, kind=digest.period.kind, period=digest.period
        ),
        "List-Unsubscribe": f"<{rendered['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"Qingshan {digest.period.kind} digest <{digest.period.kind}.digest.qingshan>",
        "Auto-Submitted": "auto-generated",
        "Content-Language": rendered["language"],
    }
    message = EmailMultiAlternatives(
        rendered["subject"],
        rendered["text"],
        settings.DEFAULT_FROM_EMAIL,
        [recipient.email],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(rendered["html"], "text/html")
    if rendered["csv"] is not None:
        message.attach(rendered["csv_name"], rendered["csv"], "text/csv")
    return message


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


def _finish(claim: DigestSend, *, status: str, reason: str = "", **fields: Any) -> bool:
    """Complete a claim this caller holds; ``False`` if it was taken over meanwhile."""
    now = timezone.now()
    if status in (DigestSend.Status.SENT, DigestSend.Status.SKIPPED):
        fields["completed_at"] = now
    finished = DigestSend.objects.filter(
        pk=claim.pk, claim_token=claim.claim_token, status=DigestSend.Status.CLAIMED
    ).update(status=status, reason=reason[:300], **fields)
    if not finished:
        logger.warning("digest send %s: claim lost before completion (%s)", claim.pk, status)
    return bool(finished)


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: SMTP 4xx replies, lost connections, timeouts, database hiccups."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | TimeoutError | DatabaseError)


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
            _finish(claim, status=DigestSend.Status.SKIPPED, reason="not a recipient")
            return Outcome(recipient_id, DigestSend.Status.SKIPPED, "not a recipient")
        prefix = digest_prefix(recipient)
        assert prefix is not None and recipient.jurisdiction is not None  # recipients have a jurisdiction
        subscription = DigestSubscription.objects.filter(user_id=recipient_id, kind=kind).first()
        digest = digest_build(prefix=prefix, period=period, language=recipient.language, now=now)
        summary = digest.summary()
        if digest.is_empty and not (subscription is not None and subscription.send_empty):
            _finish(claim, status=DigestSend.Status.SKIPPED, reason="empty", summary=summary)
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
            _finish(claim, status=DigestSend.Status.FAILED, reason=reason)
            if claim.attempts < settings.QINGSHAN_DIGEST_MAX_ATTEMPTS:
                raise DigestTransientError(reason) from exc
            return Outcome(recipient_id, DigestSend.Status.FAILED, reason)
        if isinstance(exc, smtplib.SMTPException):
            # A permanent refusal (5xx): failed for good, no retry would change it.
            _finish(
                claim,
                status=DigestSend.Status.FAILED,
                reason=reason,
                attempts=settings.QINGSHAN_DIGEST_MAX_ATTEMPTS,
            )
            return Outcome(recipient_id, DigestSend.Status.FAILED, reason)
        # Anything else is a bug or an interruption (time limit): recorded, claimable by a rerun.
        _finish(claim, status=DigestSend.Status.FAILED, reason=reason)
        raise
    _finish(
        claim,
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
    from django.core.mail import get_connection

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


# --- Schedules, defined in code ------------------------------------------------------------
