"""Emails of publication: the warning before results are due, and the flag once they are overdue."""

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


def publication_overdue_email(*, publication: Publication, recipient: User) -> EmailMultiAlternatives | None:
    """The flag to an organiser that results are past their due day (``None``: no address).

    Sent once per due day through the mail ledger; names the visits still
    open, which an organiser may cancel with a reason if they cannot happen.
    """
    if not recipient.email:
        return None
    return build_email(
        template="inspections/email/publication_overdue",
        to=recipient.email,
        language=recipient.language,
        context={
            "publication": publication,
            "admin_path": reverse("admin:inspections_publication_change", args=[publication.pk]),
        },
    )
