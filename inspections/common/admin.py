"""Admin pages and inlines that show records and never write them.

Check-ins, findings, photos, case events, digest sends, embargo reads and
follow-up draws are written by the services (and some are append-only in the
database); the admin only shows them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from inspections.common.errors import DomainError


class ReadOnlyAdminMixin:
    """No add, change or delete, on a model admin or an inline alike."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False


def message_refusal(model_admin: admin.ModelAdmin, request: HttpRequest, error: DomainError) -> None:  # type: ignore[type-arg]
    """Show a domain refusal as an error message in the reader's language, never as its code."""
    model_admin.message_user(request, error.detail, level=messages.ERROR)
