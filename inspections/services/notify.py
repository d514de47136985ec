"""Emails of the cases area: a subject/text/HTML template trio, in the recipient's language."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from inspections.models import CaseNotification, Publication, User


def _send(*, template: str, recipient: User, context: dict[str, Any]) -> None:
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"{template}.subject.txt", context).split())
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [recipient.email])
    message.attach_alternative(html, "text/html")
    message.send()


def escalation_email_send(*, notification: CaseNotification) -> None:
    """Tell a supervisor of the next level up that a case was escalated (督办)."""
    if not notification.recipient.email:
        return  # the notice stays in the admin
    case = notification.case
    _send(
        template="inspections/email/case_escalated",
        recipient=notification.recipient,
        context={
            "case": case,
            "level": notification.level,
            "admin_path": reverse("admin:inspections_case_change", args=[case.pk]),
        },
    )


def publication_deadline_email_send(*, publication: Publication, recipient: User) -> None:
    """Warn an organiser that results are due to be published soon."""
    if not recipient.email:
        return
    _send(
        template="inspections/email/publication_due",
        recipient=recipient,
        context={
            "publication": publication,
            "admin_path": reverse("admin:inspections_publication_change", args=[publication.pk]),
        },
    )
