"""Complaints from the public (群众举报: 12345 hotline, 12369 environmental hotline).

A complaint is recorded by the intake role, becomes a targeted 举报核查 visit
(``inspections.sampling.targeted``), gets its result and the reply to the
complainant. The reporter's name and contact are private: only accounts with the
intake role read them (:mod:`inspections.complaints.policies`); no public page,
digest or export shows them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.sampling.models import TargetedVisit
from villages.models import Village


class Complaint(models.Model):
    class Source(models.TextChoices):
        HOTLINE_12345 = "12345", _("12345 government service hotline")
        HOTLINE_12369 = "12369", _("12369 environmental hotline")
        LETTER = "letter", _("letter or visit (信访)")
        ONLINE = "online", _("online platform")

    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    ticket_number = models.CharField(_("ticket number"), max_length=60)
    received_at = models.DateTimeField(_("received at"))
    content = models.TextField(_("content"))
    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    location = models.CharField(_("location as reported"), max_length=300, blank=True)
    # Private: the intake role only (policies.can_read_reporter).
    reporter_name = models.CharField(_("reporter's name"), max_length=100, blank=True)
    reporter_contact = models.CharField(_("reporter's contact"), max_length=200, blank=True)
    reply_due = models.DateField(_("reply due"))
    check_visit = models.ForeignKey(
        TargetedVisit,
        verbose_name=_("核查 visit"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    result = models.TextField(_("result of the check"), blank=True)
    reply = models.TextField(_("reply to the complainant"), blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        User, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "ticket_number"], name="complaint_ticket_unique"),
            models.CheckConstraint(
                condition=Q(replied_at__isnull=True) | ~Q(reply=""), name="complaint_reply_has_text"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.ticket_number}"  # type: ignore[attr-defined]
