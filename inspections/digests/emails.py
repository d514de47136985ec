"""The digest email: the subject/text/HTML trio, the overdue CSV and the headers.

The trio is ``inspections/email/digest.{subject.txt,txt,html}``, rendered by
:mod:`inspections.common.emails` in the recipient's language. Charts are
table cells (no images: many mail clients block them). The Message-ID is
derived from (kind, period, recipient), so every attempt at one digest
carries the same one: ``<digest.<kind>.<YYYYMMDD>.<user id>@<sender's domain>>``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import translation

from inspections.accounts.models import User
from inspections.common.emails import build_email, email_render
from inspections.digests.models import DigestKind
from inspections.digests.recipients import unsubscribe_url
from inspections.digests.selectors import Digest, Period

TEMPLATE = "inspections/email/digest"
# Overdue rows shown in the body; the CSV attachment carries them all.
BODY_ROWS = 15


def _admin_url(name: str, *args: Any) -> str:
    return f"{settings.QINGSHAN_SITE_URL}{reverse(name, args=args)}"


def _case_link() -> str:
    """The admin page of a case, with ``{}`` for its id."""
    return _admin_url("admin:inspections_case_change", 0).replace("/0/", "/{}/")


def _bars(rows: list[Any], value: Callable[[Any], int]) -> list[dict[str, Any]]:
    """Rows with a bar width in percent of the largest value: charts drawn as table cells."""
    largest = max((value(row) for row in rows), default=0) or 1
    return [
        {"row": row, "pct": max(round(100 * value(row) / largest), 1 if value(row) else 0)} for row in rows
    ]


def digest_csv(digest: Digest) -> bytes:
    """The overdue list as CSV, UTF-8 with a byte-order mark so Excel reads the Chinese.

    The column titles are in the active language.
    """
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
    link = _case_link()
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


def _language(recipient: User) -> str:
    return recipient.language or settings.LANGUAGE_CODE


def _context(*, recipient: User, digest: Digest, division_name: str, preview: bool = False) -> dict[str, Any]:
    """What the trio shows; call it in the recipient's language (the labels are read then)."""
    coverage, coverage_prev = digest.coverage
    case_link = _case_link()
    kind = DigestKind(digest.period.kind)
    return {
        "recipient": recipient,
        "digest": digest,
        "division_name": division_name,
        "kind": kind,
        "kind_label": kind.label,
        "period_label": digest.period.label(),
        "previous_label": digest.period.previous.label(),
        "coverage": None if coverage is None else round(coverage * 100),
        "coverage_prev": None if coverage_prev is None else round(coverage_prev * 100),
        "domain_bars": _bars(digest.by_domain, lambda b: b.new.current),
        "severity_bars": _bars(digest.by_severity, lambda b: b.new.current),
        "village_bars": _bars(digest.top_villages, lambda v: v.open.current),
        "overdue_shown": [
            {"row": row, "url": case_link.format(row.id)} for row in digest.overdue_rows[:BODY_ROWS]
        ],
        "overdue_more": max(digest.overdue.current - BODY_ROWS, 0),
        "due_soon_shown": [{"row": row, "url": case_link.format(row.id)} for row in digest.due_soon_rows],
        "cases_url": _admin_url("admin:inspections_case_changelist"),
        "log_url": _admin_url("admin:inspections_digestsend_changelist"),
        "unsubscribe_url": PREVIEW_UNSUBSCRIBE_URL
        if preview
        else unsubscribe_url(user=recipient, kind=digest.period.kind),
        "site_url": settings.QINGSHAN_SITE_URL,
    }


def _csv_name(digest: Digest) -> str:
    return f"overdue-{digest.prefix or 'all'}-{digest.period.start:%Y%m%d}.csv"


# What a preview shows for the one-click link: a working one would let the viewer unsubscribe
# the recipient.
PREVIEW_UNSUBSCRIBE_URL = f"{settings.QINGSHAN_SITE_URL}/digests/unsubscribe/preview/"


def digest_render(*, recipient: User, digest: Digest, division_name: str) -> dict[str, Any]:
    """Subject, text, HTML and CSV of a digest, in the recipient's language (for previews and benchmarks)."""
    language = _language(recipient)
    with translation.override(language):
        context = _context(recipient=recipient, digest=digest, division_name=division_name)
        subject, text, html = email_render(template=TEMPLATE, language=language, context=context)
        attachment = digest_csv(digest) if digest.overdue_rows else None
    return {
        "subject": subject,
        "text": text,
        "html": html,
        "csv": attachment,
        "csv_name": _csv_name(digest),
        "language": language,
        "unsubscribe_url": context["unsubscribe_url"],
    }


def digest_message(
    *,
    recipient: User,
    digest: Digest,
    division_name: str,
    connection: BaseEmailBackend | None = None,
    preview: bool = False,
) -> EmailMultiAlternatives:
    """The digest email to ``recipient``: the trio, the overdue CSV if any, and the list headers.

    ``List-Unsubscribe`` with ``List-Unsubscribe-Post`` is RFC 8058's one-click
    unsubscribe; ``Auto-Submitted`` keeps auto-responders from answering. A
    ``preview`` (the admin's) carries no working unsubscribe link.
    """
    language = _language(recipient)
    with translation.override(language):
        context = _context(recipient=recipient, digest=digest, division_name=division_name, preview=preview)
        headers = {
            "Message-ID": digest_message_id(
                recipient_id=recipient.pk, kind=digest.period.kind, period=digest.period
            ),
            "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"Qingshan {digest.period.kind} digest <{digest.period.kind}.digest.qingshan>",
            "Auto-Submitted": "auto-generated",
            "Content-Language": language,
        }
        message = build_email(
            template=TEMPLATE,
            to=recipient.email,
            language=language,
            context=context,
            headers=headers,
            connection=connection,
        )
        if digest.overdue_rows:
            message.attach(_csv_name(digest), digest_csv(digest), "text/csv")
    return message
