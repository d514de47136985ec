"""Extension requests (延期) awaiting a decision, in the reader's jurisdiction."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.cases.admin.changelist import (
    CaseActionForm,
    run_action,  # noqa: F401
)
from inspections.cases.models import (
    ExtensionRequest,
)
from inspections.cases.services.extensions import extension_decide
from inspections.common.admin import message_refusal
from inspections.common.china_time import display
from inspections.common.errors import DomainError
from villages.scoping import JurisdictionScopedAdmin


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(JurisdictionScopedAdmin):
    """Extension requests (延期) of the caller's jurisdiction; approved or rejected by the assigning level."""

    scope_code_field = "case__village__code"
    action_form = CaseActionForm
    list_display = [
        "case",
        "requested_by",
        "current_deadline",
        "proposed_deadline",
        "status",
        "requested_at_china",
        "decided_by",
    ]
    list_filter = ["status"]
    list_select_related = ["case__village", "case__category", "requested_by", "decided_by"]
    readonly_fields = [
        "client_uuid",
        "case",
        "requested_by",
        "reason",
        "current_deadline",
        "proposed_deadline",
        "status",
        "decided_by",
        "decided_at",
        "decision_note",
        "created_at",
    ]
    actions = ["action_approve", "action_reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("requested at"), ordering="created_at")
    def requested_at_china(self, asked: ExtensionRequest) -> str:
        return display(asked.created_at)

    def _decide(self, request: HttpRequest, queryset: QuerySet[ExtensionRequest], *, approve: bool) -> None:
        user = request.user
        assert isinstance(user, User)
        note = request.POST.get("note", "")
        done = 0
        for asked in queryset.select_related("case").order_by("id"):
            try:
                extension_decide(request=asked, actor=user, approve=approve, note=note)
            except DomainError as refusal:
                refusal.detail = gettext("Case #%(id)s: %(reason)s") % {
                    "id": asked.case_id,
                    "reason": refusal.detail,
                }
                message_refusal(self, request, refusal)
            else:
                done += 1
        if done:
            message = _("%(count)d approved.") if approve else _("%(count)d rejected.")
            self.message_user(request, message % {"count": done}, level=messages.SUCCESS)

    @admin.action(description=_("Approve the extension (the deadline moves)"), permissions=["change"])
    def action_approve(self, request: HttpRequest, queryset: QuerySet[ExtensionRequest]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Reject the extension"), permissions=["change"])
    def action_reject(self, request: HttpRequest, queryset: QuerySet[ExtensionRequest]) -> None:
        self._decide(request, queryset, approve=False)
