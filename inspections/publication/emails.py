"""Emails of publication: the warning before results are due."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from inspections.accounts.models import User
from inspections.common.emails import build_email
from inspections.publication.models import Publication


def publication_deadline_email(*, publication: Publication, recipient: User) -> EmailMultiAlternatives | None:
    """The warning to an organiser that results are due to be published soon (``None``: no address).

    Sent through the mail ledger (:func:`inspections.common.mail.mail_deliver`).
    """
    if not recipient.email:
        return None
    return build_email(
        template="inspections/email/publication_due",
        to=recipient.email,
        language=recipient.language,
        context={
            "publication": publication,
            "admin_path": reverse("admin:inspections_publication_change", args=[publication.pk]),
        },
    )
