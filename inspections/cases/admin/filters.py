"""The problem list's own filters: overdue, escalation level, closure notice (公示)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.cases.models import (
    ESCALATION_LEVEL_NAMES,
    CaseStatus,
)
from inspections.common.china_time import local_date


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("overdue")), ("no", _("not overdue"))]

    def queryset(self, request: HttpRequest, queryset: Any) -> QuerySet[Any]:
        today = local_date(timezone.now())
        if self.value() == "yes":
            return queryset.overdue(today)
        if self.value() == "no":
            return queryset.not_overdue(today)
        return queryset


class EscalationLevelFilter(admin.SimpleListFilter):
    """The escalation levels by name (市级督办, 省级督办), not by number."""

    title = _("escalation level")
    parameter_name = "escalation"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(str(level), name) for level, name in ESCALATION_LEVEL_NAMES.items()]

    def queryset(self, request: HttpRequest, queryset: Any) -> QuerySet[Any]:
        value = self.value()
        if value is not None and value.isdigit():
            return queryset.filter(escalation_level=int(value))
        return queryset


class PublicityFilter(admin.SimpleListFilter):
    """Closures (销号) still under their 公示, and those final."""

    title = _("closure notice (公示)")
    parameter_name = "publicity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("current", _("under public notice")), ("final", _("closure final"))]

    def queryset(self, request: HttpRequest, queryset: Any) -> QuerySet[Any]:
        today = local_date(timezone.now())
        closed = queryset.filter(status=CaseStatus.CLOSED)
        if self.value() == "current":
            return closed.filter(publicity_until__gte=today)
        if self.value() == "final":
            return closed.filter(Q(publicity_until__isnull=True) | Q(publicity_until__lt=today))
        return queryset
