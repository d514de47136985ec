from __future__ import annotations

from typing import Any

from axes import admin as axes_admin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.token_blacklist import admin as token_admin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

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


# --- The login lockout's and the tokens' pages, as their apps register them, named in Chinese ---
# Their apps translate their models' names (our catalogue, config/locale, has the Chinese),
# but some columns and fields carry names no catalogue can reach: a method without a
# description, a model field without a translatable verbose name. These subclasses name them.


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    @admin.display(description=_("status"))
    def status(self, obj: AccessAttempt) -> str:
        return str(super().status(obj))

    @admin.display(description=_("expires at"))
    def expiration(self, obj: AccessAttempt) -> Any:
        return super().expiration(obj)


class OutstandingTokenAdmin(token_admin.OutstandingTokenAdmin):
    """Every token issued (each login and refresh); read only, as simplejwt has it."""

    list_display = ("token_number", "token_user", "issued_at", "token_expires_at")
    fields = ("token_number", "token_user", "issued_at", "token_expires_at", "token_text")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.fields)

    @admin.display(description=_("token ID (jti)"), ordering="jti")
    def token_number(self, token: OutstandingToken) -> str:
        return token.jti

    @admin.display(description=_("user"), ordering="user")
    def token_user(self, token: OutstandingToken) -> Any:
        return token.user

    @admin.display(description=_("issued at"), ordering="created_at")
    def issued_at(self, token: OutstandingToken) -> Any:
        return token.created_at

    @admin.display(description=_("expires at"), ordering="expires_at")
    def token_expires_at(self, token: OutstandingToken) -> Any:
        return token.expires_at

    @admin.display(description=_("token"))
    def token_text(self, token: OutstandingToken) -> str:
        return token.token


class BlacklistedTokenAdmin(token_admin.BlacklistedTokenAdmin):
    """The refresh tokens no longer accepted. Read only: an account's tokens end when it is deactivated."""

    list_display = ("token_number", "token_user", "issued_at", "token_expires_at", "listed_at")
    fields = list_display

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)

    @admin.display(description=_("token ID (jti)"), ordering="token__jti")
    def token_number(self, listed: BlacklistedToken) -> str:
        return listed.token.jti

    @admin.display(description=_("user"), ordering="token__user")
    def token_user(self, listed: BlacklistedToken) -> Any:
        return listed.token.user

    @admin.display(description=_("issued at"), ordering="token__created_at")
    def issued_at(self, listed: BlacklistedToken) -> Any:
        return listed.token.created_at

    @admin.display(description=_("expires at"), ordering="token__expires_at")
    def token_expires_at(self, listed: BlacklistedToken) -> Any:
        return listed.token.expires_at

    @admin.display(description=_("no longer accepted since"), ordering="blacklisted_at")
    def listed_at(self, listed: BlacklistedToken) -> Any:
        return listed.blacklisted_at


for _model, _admin_class in (
    (AccessAttempt, AccessAttemptAdmin),
    (OutstandingToken, OutstandingTokenAdmin),
    (BlacklistedToken, BlacklistedTokenAdmin),
):
    if admin.site.is_registered(_model):  # axes registers its pages unless AXES_ENABLE_ADMIN is off
        admin.site.unregister(_model)
        admin.site.register(_model, _admin_class)
