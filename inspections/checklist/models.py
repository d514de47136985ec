"""The checklist of problem categories an inspector records findings against."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Domain(models.TextChoices):
    SEWAGE = "sewage", _("domestic sewage")
    BLACK_ODOROUS_WATER = "black_odorous_water", _("black and odorous water bodies")
    GARBAGE = "garbage", _("household garbage")
    TOILETS = "toilets", _("sanitary toilets")
    APPEARANCE = "appearance", _("village appearance")


class Severity(models.TextChoices):
    MINOR = "minor", _("minor")
    MODERATE = "moderate", _("moderate")
    SERIOUS = "serious", _("serious")


class ProblemCategory(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=200)
    domain = models.CharField(_("domain"), max_length=30, choices=Domain.choices)
    default_severity = models.CharField(_("default severity"), max_length=10, choices=Severity.choices)
    rectification_days = models.PositiveSmallIntegerField(
        _("rectification working days"),
        help_text=_("Default deadline for rectification, in China's working days."),
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("problem category")
        verbose_name_plural = _("problem categories")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(rectification_days__gte=1), name="category_deadline_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language."""
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh_hans
