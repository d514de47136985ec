"""Inspections and what inspectors record on them.

An inspection is embargoed until it is submitted: only its organisers see it
before, the team from the opening of its visit window, and the accounts whose
jurisdiction covers the village only once it is submitted. The rule lives in
``inspections.selectors``; everything that reads inspections goes through it.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from inspections.models.checklist import ProblemCategory, Severity
from inspections.models.roster import Inspector, User
from villages.models import Datum, Village


class Inspection(models.Model):
    class Mode(models.TextChoices):
        RANDOM = "random", _("double-random sampling (双随机抽查)")
        UNANNOUNCED = "unannounced", _("unannounced visit (暗访)")
        SPECIAL = "special", _("special campaign (专项)")
        LOOK_BACK = "look_back", _("look-back visit (回头看)")
        REPORT = "report", _("complaint verification (举报核查)")
        ROUTINE = "routine", _("routine (日常)")
        VERIFICATION = "verification", _("rectification verification (核查销号)")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        IN_PROGRESS = "in_progress", _("in progress")
        SUBMITTED = "submitted", _("submitted")
        CANCELLED = "cancelled", _("cancelled")

    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices)
    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="inspections"
    )
    team = models.ManyToManyField(Inspector, verbose_name=_("team"), related_name="inspections", blank=True)
    organisers = models.ManyToManyField(
        User,
        verbose_name=_("organisers"),
        related_name="organised_inspections",
        blank=True,
        help_text=_("Who planned this inspection: they see it before the visit."),
    )
    window_start = models.DateTimeField(_("visit window start"))
    window_end = models.DateTimeField(_("visit window end"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    summary = models.TextField(_("summary"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-window_start", "id"]
        indexes = [models.Index(fields=["status", "window_start"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_end__gt=F("window_start")), name="inspection_window_ordered"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="submitted", submitted_at__isnull=False)
                    | (~Q(status="submitted") & Q(submitted_at__isnull=True))
                ),
                name="inspection_submitted_at_iff_submitted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} · {self.village} · {self.window_start:%Y-%m-%d}"

    @property
    def is_submitted(self) -> bool:
        return self.status == self.Status.SUBMITTED


class Finding(models.Model):
    """A problem seen on an inspection, recorded against the checklist."""

    client_uuid = models.UUIDField(_("client UUID"), unique=True, default=uuid.uuid4)
    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.PROTECT, related_name="findings"
    )
    category = models.ForeignKey(
        ProblemCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+"
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    description = models.TextField(_("description"), blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    datum = models.CharField(_("datum"), max_length=5, choices=Datum.choices, blank=True)
    photo_uuids = models.JSONField(
        _("photo UUIDs"),
        default=list,
        blank=True,
        help_text=_("Client UUIDs of the photos that show this finding; they may arrive later."),
    )
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["inspection", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(longitude__isnull=True, latitude__isnull=True, datum="")
                    | (Q(longitude__isnull=False, latitude__isnull=False) & ~Q(datum=""))
                ),
                name="finding_location_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} ({self.get_severity_display()})"
