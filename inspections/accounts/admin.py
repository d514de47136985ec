from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import Inspector, InspectorConflict, Role, User
from inspections.accounts.services import user_tokens_revoke
from inspections.fieldwork.models import Inspection
from villages.scoping import JurisdictionScopedAdmin

# Roles whose whole view of the data is their jurisdiction's subtree.
JURISDICTION_ROLES = {Role.SUPERVISOR, Role.RESPONSIBLE_PARTY, Role.COMPLAINT_INTAKE}


class UserForm(UserChangeForm):  # type: ignore[type-arg]
    def clean(self) -> dict[str, object]:
        cleaned: dict[str, object] = super().clean() or {}
        groups = cleaned.get("groups") or []
        roles = {group.name for group in groups}  # type: ignore[attr-defined]
        if roles & JURISDICTION_ROLES and not cleaned.get("jurisdiction") and not cleaned.get("is_superuser"):
            raise ValidationError(
                {"jurisdiction": _("Supervisors and responsible parties need a jurisdiction.")}
            )
        return cleaned


@admin.register(User)
class UserAdmin(JurisdictionScopedAdmin, BaseUserAdmin):  # type: ignore[misc]
    scope_code_field = "jurisdiction__code"
    form = UserForm
    list_display = ["username", "first_name", "last_name", "jurisdiction", "language", "is_active"]
    list_filter = ["groups", "is_staff", "is_active", "language"]
    list_select_related = ["jurisdiction"]
    autocomplete_fields = ["jurisdiction"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("Jurisdiction"), {"fields": ("jurisdiction", "language")}),
    )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Deactivating an account ends its tokens (a password reset does through the password hash)."""
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_tokens_revoke(user=obj)


class InspectorConflictInline(admin.TabularInline):  # type: ignore[type-arg]
    """Declared conflicts: the village where the inspector lives or works, related units."""

    model = InspectorConflict
    extra = 0
    autocomplete_fields = ["village", "division"]


@admin.register(Inspector)
class InspectorAdmin(JurisdictionScopedAdmin):
    inlines = [InspectorConflictInline]
    scope_code_field = "home_division__code"
    list_display = [
        "credential_number",
        "user",
        "unit",
        "home_division",
        "home_county",
        "is_active",
        "capacity",
    ]
    list_filter = ["is_active"]
    list_select_related = ["user", "home_division", "home_county"]
    search_fields = ["credential_number", "user__username", "user__last_name", "unit"]
    autocomplete_fields = ["user", "home_division", "home_county"]
    # The roster with what sampling needs: capacity, and the villages each inspector visited.
    readonly_fields = ["inspected_villages"]

    @admin.display(description=_("villages inspected before"))
    def inspected_villages(self, obj: Inspector) -> str:
        if obj.pk is None:
            return "—"
        # Submitted visits only: an upcoming one is embargoed from whoever reads this page.
        visits = (
            obj.inspections.filter(status=Inspection.Status.SUBMITTED)
            .select_related("village")
            .order_by("-window_start")[:50]
        )
        return (
            format_html_join(", ", "{} ({:%Y-%m-%d})", ((v.village, v.window_start) for v in visits)) or "—"
        )
