"""Follow-up visits (复核, 回头看) and their draws, read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from inspections.accounts.models import User
from inspections.cases.models import (
    FollowUp,
    FollowUpDraw,
)
from inspections.common.admin import ReadOnlyAdminMixin
from inspections.fieldwork.selectors import inspection_list


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Verification and look-back visits, under the embargo of their inspection."""

    list_display = ["case", "kind", "inspector", "result", "result_at", "created_at"]
    list_filter = ["kind", "result"]
    list_select_related = ["case__village", "case__category", "inspector__user"]
    readonly_fields = [f.name for f in FollowUp._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FollowUp]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        assert isinstance(request.user, User)
        return queryset.filter(inspection__in=inspection_list(user=request.user).values("pk"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FollowUpDraw)
class FollowUpDrawAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """The draws behind follow-ups, with their seeds: superusers only (they name who visits where)."""

    list_display = ["label", "kind", "k", "created_at"]
    readonly_fields = [f.name for f in FollowUpDraw._meta.fields]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser
