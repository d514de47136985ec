"""What publication stores: typical cases, results publications and public copies of photos.

When results are due is computed by :func:`inspections.publication.services.publication_due`
and stored on the publication (``windows_closed_on``, ``due_on``, ``due_warning``).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.cases.models import Case
from inspections.fieldwork.models import Inspection
from inspections.sampling.models import Draw


class TypicalCase(models.Model):
    """A case published as a typical case (典型案例), with a public summary.

    The summary is written for the public: no personal names. Nothing else
    of the case (notes, actors, rectifier) is ever shown publicly.
    """

    case = models.OneToOneField(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="typical"
    )
    title_zh_hans = models.CharField(_("public title (Chinese)"), max_length=200)
    title_en = models.CharField(_("public title (English)"), max_length=300, blank=True)
    summary_zh_hans = models.TextField(_("public summary (Chinese)"))
    summary_en = models.TextField(_("public summary (English)"), blank=True)
    photo_uuids = models.JSONField(
        _("public photos"),
        default=list,
        blank=True,
        help_text=_("Photo UUIDs to show, re-encoded without metadata."),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        User,
        verbose_name=_("published by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("typical case")
        verbose_name_plural = _("typical cases")
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.title_zh_hans


class Publication(models.Model):
    """Publication of inspection results (一公开), due a number of working days
    after the last visit window closed. Publishing reveals the draw's seed: the
    seed lives on the :class:`Draw`, revealed by sampling's ``draw_publish``."""

    title_zh_hans = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    summary_zh_hans = models.TextField(_("public summary (Chinese)"), blank=True)
    summary_en = models.TextField(_("public summary (English)"), blank=True)
    inspections = models.ManyToManyField(
        Inspection, verbose_name=_("inspections"), related_name="publications"
    )
    draw = models.ForeignKey(
        Draw,
        verbose_name=_("draw"),
        on_delete=models.PROTECT,
        related_name="publications",
        null=True,
        blank=True,
        help_text=_("The sampling draw whose results these are: publishing them reveals its seed."),
    )
    windows_closed_on = models.DateField(_("last visit window closed on"))
    due_on = models.DateField(_("publish by"))
    due_warning = models.CharField(_("deadline warning"), max_length=300, blank=True)
    organisers = models.ManyToManyField(User, verbose_name=_("organisers"), related_name="+", blank=True)
    warned_at = models.DateTimeField(_("organisers warned at"), null=True, blank=True)
    overdue_flagged_at = models.DateTimeField(
        _("flagged overdue at"),
        null=True,
        blank=True,
        help_text=_("When the organisers were told the results are past their due day (once per due day)."),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        User,
        verbose_name=_("published by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("results publication")
        verbose_name_plural = _("results publications")
        ordering = ["-windows_closed_on", "-id"]

    def __str__(self) -> str:
        return self.title_zh_hans

    @property
    def due_is_provisional(self) -> bool:
        """The due day was counted on a year whose holiday notice is not entered yet (暂定)."""
        return bool(self.due_warning)

    def is_overdue(self, today: dt.date) -> bool:
        """Still unpublished after its due day (``today`` is a day in China)."""
        return self.published_at is None and self.due_on < today


class PublicImage(models.Model):
    """A public copy of a photo: re-encoded, without EXIF or GPS, served by its uuid."""

    uuid = models.UUIDField(_("public UUID"), unique=True, default=uuid.uuid4)
    source_photo_uuid = models.UUIDField(_("source photo"), unique=True)
    image = models.FileField(_("image"), upload_to="public/%Y/%m/")
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("public image")
        verbose_name_plural = _("public images")

    def __str__(self) -> str:
        return str(self.uuid)
