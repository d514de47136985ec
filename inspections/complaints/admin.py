"""Complaints in the admin: recorded by the intake role, which alone sees the reporter.

Supervisors of the jurisdiction see the complaint without its reporter. The
complaint's 核查 visit is shown only to whoever may see its inspections (the
embargo): to anyone else a complaint with a visit coming looks like one without.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from inspections.common.china_time import local_date
from inspections.complaints.models import Complaint
from inspections.complaints.policies import PRIVATE_FIELDS, can_read_reporter
from inspections.fieldwork.models import Inspection
from villages.scoping import DivisionFilter, JurisdictionScopedAdmin

OPEN = (Inspection.Status.SCHEDULED, Inspection.Status.IN_PROGRESS)

FIELDS = [
    "source",
    "ticket_number",
    "received_at",
    "content",
    "village",
    "location",
    "reporter_name",
    "reporter_contact",
    "reply_due",
    "check_visit_record",
    "result",
    "reply",
    "replied_at",
]


class OverdueFilter(admin.SimpleListFilter):
    title = _("reply")
    parameter_name = "reply"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("overdue", _("overdue")), ("open", _("not yet answered")), ("done", _("answered"))]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        today = local_date(timezone.now())
        if self.value() == "overdue":
            return queryset.filter(replied_at__isnull=True, reply_due__lt=today)
        if self.value() == "open":
            return queryset.filter(replied_at__isnull=True)
        if self.value() == "done":
            return queryset.filter(replied_at__isnull=False)
        return queryset


@admin.register(Complaint)
class ComplaintAdmin(JurisdictionScopedAdmin):
    scope_code_field = "village__code"
    list_display = ["ticket_number", "source", "received_at", "village", "reply_due", "replied_at"]
    list_filter = ["source", OverdueFilter, DivisionFilter]
    list_select_related = ["village"]
    search_fields = ["ticket_number", "content"]
    autocomplete_fields = ["village"]
    readonly_fields = ["check_visit_record", "replied_at"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if can_read_reporter(request.user):
            return FIELDS
        return [f for f in FIELDS if f not in PRIVATE_FIELDS]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if can_read_reporter(request.user):
            return ["check_visit_record", "replied_at"]
        return [f for f in self.get_fields(request, obj) if f not in PRIVATE_FIELDS]

    def save_model(self, request: HttpRequest, obj: Complaint, form: Any, change: bool) -> None:
        if not change:
            obj.recorded_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    @admin.display(description=_("核查 visit"))
    def check_visit_record(self, obj: Complaint) -> str:
        """The visit once every one of its inspections is closed; before, the same "—" as none.

        Its organiser follows it under targeted visits; here the page is the same
        for everyone, whatever the embargo lets them see.
        """
        if obj.check_visit_id is None:
            return "—"
        visits = list(obj.check_visit.inspections.all())  # type: ignore[union-attr]
        if any(v.status in OPEN for v in visits):
            return "—"
        return format_html("{} ({})", obj.check_visit, ", ".join(v.get_status_display() for v in visits))
