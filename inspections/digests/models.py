"""Digests (定期调度): who receives which summary, and the record of every send.

A :class:`DigestSend` exists once per (recipient, kind, period): the unique
constraint is the idempotency key. A worker *claims* the row with a
conditional UPDATE before it sends and completes it after, so a duplicate beat
firing, a retried task or a second worker finds nothing left to claim (see
:mod:`inspections.digests.services`).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User


class DigestKind(models.TextChoices):
    DAILY = "daily", _("daily")
    WEEKLY = "weekly", _("weekly")


class DigestSubscription(models.Model):
    """A recipient's choice for one kind of digest.

    Without a row, a recipient who may receive digests gets both kinds (a
    supervisor should not miss the summary of their jurisdiction by default);
    a row with ``enabled`` off opts out of that kind. ``send_empty`` asks for
    the digest even when nothing happened.
    """

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="digest_subscriptions"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=DigestKind.choices)
    enabled = models.BooleanField(_("subscribed"), default=True)
    send_empty = models.BooleanField(
        _("send when empty"),
        default=False,
        help_text=_("Send the digest even when nothing happened in the period."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("digest subscription")
        verbose_name_plural = _("digest subscriptions")
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="digest_subscription_unique"),
        ]
        permissions = [("receive_digest", _("Can receive digest emails of their jurisdiction"))]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_kind_display()}"


class DigestSend(models.Model):
    """One digest to one recipient for one period: the exactly-once record.

    ``pending`` rows are written by the fan-out (so the delivery log shows
    what is still to go); a worker moves a row to ``claimed`` with a
    conditional UPDATE that only one caller can win, then to ``sent``,
    ``skipped`` (empty, opted out, no address) or ``failed`` (retried while
    attempts remain). A ``claimed`` row older than the claim timeout belongs to
    a worker that died and may be claimed again.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        CLAIMED = "claimed", _("claimed (sending)")
        SENT = "sent", _("sent")
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("failed")

    recipient = models.ForeignKey(
        User, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="digest_sends"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=DigestKind.choices)
    period_start = models.DateField(
        _("period"), help_text=_("The day reported on, or the Monday of the week reported on.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claim_token = models.UUIDField(_("claim"), null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=7, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=200, blank=True)
    summary = models.JSONField(_("figures"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("digest send")
        verbose_name_plural = _("digest delivery log")
        ordering = ["-period_start", "kind", "recipient"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "period_start"], name="digest_send_once_per_period"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="claimed", claim_token__isnull=False, claimed_at__isnull=False)
                    | ~Q(status="claimed")
                ),
                name="digest_send_claim_complete",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["sent", "skipped"], completed_at__isnull=False)
                | ~Q(status__in=["sent", "skipped"]),
                name="digest_send_completed_at",
            ),
        ]
        indexes = [models.Index(fields=["kind", "period_start", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start} → {self.recipient}"

    @staticmethod
    def new_token() -> uuid.UUID:
        return uuid.uuid4()
