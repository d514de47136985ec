"""Complaints in the admin: recorded by the intake role, which alone sees the reporter.

Supervisors of the jurisdiction see the complaint without its reporter. The
complaint's 核查 visit is shown only to whoever may see its inspections (the
embargo): to anyone else a complaint with a visit coming looks like one without.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import Inspector
from inspections.common.admin import message_refusal
from inspections.common.china_time import local_date
from inspections.common.errors import DomainError
from inspections.complaints.models import Complaint
from inspections.complaints.policies import PRIVATE_FIELDS, can_order_check, can_read_reporter
from inspections.complaints.selectors import complaints_within
from inspections.complaints.services import complaint_order_check
from inspections.fieldwork.models import Inspection
from villages.scoping import DivisionFilter, JurisdictionScopedAdmin, request_prefix

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


class CheckForm(forms.Form):
    """The complaint's 核查: a window, and a team drawn from the roster or named with a reason."""

    window_start = forms.DateTimeField(label=_("visit window start"), help_text=_("China time."))
    window_end = forms.DateTimeField(label=_("visit window end"), help_text=_("China time."))
    team_size = forms.IntegerField(label=_("team size"), min_value=2, initial=2)
    named_team = forms.ModelMultipleChoiceField(
        label=_("named team"),
        queryset=Inspector.objects.filter(is_active=True).select_related("user"),
        required=False,
        help_text=_("Leave empty to draw the team from the roster."),
    )
    named_reason = forms.CharField(
        label=_("why the team is named"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


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
    list_display = [
        "ticket_number",
        "source",
        "received_at",
        "village",
        "reply_due",
        "replied_at",
        "reply_overdue",
    ]
    list_filter = ["source", OverdueFilter, DivisionFilter]
    list_select_related = ["village"]
    search_fields = ["ticket_number", "content"]
    autocomplete_fields = ["village"]
    readonly_fields = ["check_visit_record", "replied_at"]

    def get_queryset(self, request: HttpRequest) -> Any:
        """The jurisdiction's complaints, with those not yet placed that its accounts recorded."""
        prefix = request_prefix(request)
        if prefix is None:
            return Complaint.objects.none()
        return complaints_within(prefix).select_related("village")

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

    @admin.display(description=_("reply overdue"), boolean=True)
    def reply_overdue(self, obj: Complaint) -> bool:
        """Not answered and past the reply's due date (China's today), as the digests count it."""
        return obj.replied_at is None and obj.reply_due < local_date(timezone.now())

    # --- The 核查 visit --------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/check/",
                self.admin_site.admin_view(self.check_view),
                name="inspections_complaint_check",
            ),
        ]
        return own + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # The button is the same whether or not a visit was ordered (the embargo): the
        # service refuses a second one.
        extra = {**(extra_context or {}), "may_order_check": can_order_check(request.user)}
        return super().change_view(request, object_id, form_url, extra)

    def check_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Order the complaint's 核查: a targeted 举报核查 visit of its village (supervisors)."""
        complaint = self.get_object(request, unquote(object_id))
        if complaint is None or not can_order_check(request.user):
            raise Http404
        form = CheckForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                complaint_order_check(
                    complaint=complaint,
                    user=request.user,  # type: ignore[arg-type]
                    window_start=data["window_start"],
                    window_end=data["window_end"],
                    team_size=data["team_size"],
                    named_team=list(data["named_team"]) or None,
                    named_reason=data["named_reason"],
                )
            except DomainError as refusal:
                message_refusal(self, request, refusal)
            else:
                self.message_user(
                    request,
                    _("Ordered: the 核查 visit is an embargoed inspection, under your targeted visits."),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:inspections_complaint_change", args=[complaint.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": complaint,
            "title": _("Order the 核查 visit of %(complaint)s") % {"complaint": complaint},
            "form": form,
        }
        return TemplateResponse(request, "admin/inspections/complaint/check.html", context)
