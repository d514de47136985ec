"""Emails of the cases area: a subject/text/HTML template trio, in the recipient's language."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation

from inspections.accounts.models import User
from inspections.cases.ladder_documents import supervision_pdf
from inspections.cases.models import Bulletin, Case, CaseNotification, LadderStep
from inspections.common.emails import build_email
from inspections.common.pdf import CONTENT_TYPE


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


def _category_name(case: Case, language: str) -> str:
    return case.category.name_en if language == "en" and case.category.name_en else case.category.name_zh_hans


def _link(case: Case, recipient: User) -> str:
    """Where the recipient opens the problem: the admin for staff, the API for a responsible party."""
    if recipient.is_staff:
        return reverse("admin:inspections_case_change", args=[case.pk])
    return reverse("case-detail", args=[case.pk])


def ladder_email(*, step: LadderStep, recipient: User) -> EmailMultiAlternatives | None:
    """The 提醒 or the 督办单 of a ladder step to one recipient; the 督办单 carries its PDF.

    ``None`` when the recipient has no address. Sent through the mail ledger.
    """
    if not recipient.email:
        return None
    case = step.case
    language = recipient.language or settings.LANGUAGE_CODE
    supervision = step.kind == LadderStep.Kind.SUPERVISION
    message = build_email(
        template="inspections/email/case_supervision" if supervision else "inspections/email/case_reminder",
        to=recipient.email,
        language=language,
        context={
            "case": case,
            "step": step,
            "category": _category_name(case, language),
            "link": _link(case, recipient),
        },
    )
    if supervision:
        with translation.override(language):
            message.attach(f"dubandan-{case.pk}.pdf", supervision_pdf(step=step), CONTENT_TYPE)
    return message


def bulletin_email(*, bulletin: Bulletin, recipient: User) -> EmailMultiAlternatives | None:
    """The notice to a supervisor of the jurisdiction that its monthly bulletin (通报) is compiled."""
    if not recipient.email:
        return None
    return build_email(
        template="inspections/email/case_bulletin",
        to=recipient.email,
        language=recipient.language,
        context={
            "bulletin": bulletin,
            "month": f"{bulletin.month:%Y-%m}",
            "totals": bulletin.content.get("totals", {}),
            "admin_path": reverse("admin:inspections_bulletin_change", args=[bulletin.pk]),
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
