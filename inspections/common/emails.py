"""Emails as a template trio (name.subject.txt, name.txt, name.html), in the recipient's language."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.utils import translation


def email_render(*, template: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """``(subject, text, html)`` of the trio ``template``, rendered in ``language``."""
    with translation.override(language):
        subject = " ".join(render_to_string(f"{template}.subject.txt", context).split())
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    return subject, text, html


def build_email(
    *,
    template: str,
    to: str,
    language: str,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
    connection: BaseEmailBackend | None = None,
) -> EmailMultiAlternatives:
    """The message of the trio ``template`` to the address ``to``, in ``language`` (else the site's)."""
    subject, text, html = email_render(
        template=template, language=language or settings.LANGUAGE_CODE, context=context
    )
    message = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [to], headers=headers, connection=connection
    )
    message.attach_alternative(html, "text/html")
    return message
