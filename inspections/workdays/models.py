"""The holiday calendar an administrator enters: a year's holidays and adjusted working weekends (调休)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class HolidayYear(models.Model):
    """A year whose holidays and working weekends an administrator entered.

    Once a year is here, its entries replace the calendar library for that
    year (used for years the library does not know yet, or to correct it).
    """

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    note = models.CharField(
        _("source"), max_length=300, blank=True, help_text=_("e.g. the State Council notice")
    )
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("holiday calendar year")
        verbose_name_plural = _("holiday calendar years")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class HolidayDate(models.Model):
    calendar_year = models.ForeignKey(
        HolidayYear, verbose_name=_("year"), on_delete=models.CASCADE, related_name="dates"
    )
    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(
        _("working day"),
        default=False,
        help_text=_("Ticked for an adjusted working weekend (调休); unticked for a holiday."),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("holiday or working weekend")
        verbose_name_plural = _("holidays and working weekends")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"
