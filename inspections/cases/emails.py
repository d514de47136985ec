"""Emails of the cases area: a subject/text/HTML template trio, in the recipient's language."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from inspections.cases.models import CaseNotification
from inspections.common.emails import build_email


def escalation_email(*, notification: CaseNotification) -> EmailMultiAlternatives | None:
    """The email telling a supervisor of the next level up that a case was escalated (督办).

    ``None`` when the supervisor has no address: the notice stays in the admin.
    Sent through the mail ledger (:func:`inspections.common.mail.mail_deliver`).
    """
    if not notification.recipient.email:
        return None
    case = notification.case
    return build_email(
        template="inspections/email/case_escalated",
        to=notification.recipient.email,
        language=notification.recipient.language,
        context={
            "case": case,
            "level": notification.level,
            "admin_path": reverse("admin:inspections_case_change", args=[case.pk]),
        },
    )


def handover_email(
    *, notification: CaseNotification, sheet: Callable[[], bytes]
) -> EmailMultiAlternatives | None:
    """The email handing a problem to one account of its responsible unit (交办), the 交办单 attached.

    ``None`` when the account has no address: the notice stays in ``GET notifications/``.
    ``sheet`` draws the PDF, only when there is someone to send it to.
    """
    if not notification.recipient.email:
        return None
    case = notification.case
    site = settings.QINGSHAN_SITE_URL
    message = build_email(
        template="inspections/email/case_handed_over",
        to=notification.recipient.email,
        language=notification.recipient.language,
        context={
            "case": case,
            "api_url": f"{site}{reverse('case-detail', kwargs={'pk': case.pk})}",
            "sheet_url": f"{site}{reverse('case-handover-sheet', kwargs={'pk': case.pk})}",
        },
    )
    message.attach(f"handover-{case.pk}.pdf", sheet(), "application/pdf")
    return message
