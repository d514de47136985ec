"""The mail ledger: one row per email the system owes someone, claimed before it is sent.

Used by the emails that are not digests (escalation notices, publication
warnings); digests keep their own ledger (:class:`~inspections.digests.models.DigestSend`),
which has the same states plus their figures. See :mod:`inspections.common.mail`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class MailSend(models.Model):
    """One email to one recipient, keyed by what it is about (``key`` is the idempotency key).

    ``pending`` → ``claimed`` (by a conditional UPDATE only one caller wins) →
    ``sent``, ``skipped`` (nothing to send, no address) or ``failed`` (claimable
    again while attempts remain; a permanent refusal uses them all up). A
    ``claimed`` row older than the claim timeout belongs to a dead worker.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        CLAIMED = "claimed", _("claimed (sending)")
        SENT = "sent", _("sent")
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=40)
    key = models.CharField(_("key"), max_length=200, unique=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="+"
    )
    args: models.JSONField[dict[str, Any]] = models.JSONField(_("arguments"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claim_token = models.UUIDField(_("claim"), null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("email send")
        verbose_name_plural = _("email delivery log")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(status="claimed", claim_token__isnull=False, claimed_at__isnull=False)
                    | ~Q(status="claimed")
                ),
                name="mail_send_claim_complete",
            ),
        ]
        indexes = [models.Index(fields=["kind", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id} ({self.status})"

    @staticmethod
    def new_token() -> uuid.UUID:
        return uuid.uuid4()
