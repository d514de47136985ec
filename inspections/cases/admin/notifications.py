"""The reader's own notifications (escalations, hand-overs)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inspections.cases.models import (
    CaseNotification,
)


@admin.register(CaseNotification)
class CaseNotificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Each supervisor's own notices (escalations of cases below them)."""

    list_display = ["created_at", "kind", "level", "case", "recipient", "emailed_at", "read_at"]
    list_filter = ["kind", "level", ("read_at", admin.EmptyFieldListFilter)]
    list_select_related = ["case__village", "case__category", "recipient"]
    readonly_fields = ["recipient", "case", "kind", "level", "created_at", "emailed_at", "read_at"]
    actions = ["mark_read"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseNotification]:
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(recipient_id=request.user.pk)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Mark as read"))
    def mark_read(self, request: HttpRequest, queryset: QuerySet[CaseNotification]) -> None:
        queryset.filter(read_at__isnull=True).update(read_at=timezone.now())
