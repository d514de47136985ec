"""Emails of publication: the warning before results are due."""

from __future__ import annotations

from django.urls import reverse

from inspections.accounts.models import User
from inspections.common.emails import build_email
from inspections.publication.models import Publication


def publication_deadline_email_send(*, publication: Publication, recipient: User) -> None:
    """Warn an organiser that results are due to be published soon."""
    if not recipient.email:
        return
    build_email(
        template="inspections/email/publication_due",
        to=recipient.email,
        language=recipient.language,
        context={
            "publication": publication,
            "admin_path": reverse("admin:inspections_publication_change", args=[publication.pk]),
        },
    ).send()
