"""The problems' list: its columns, filters, the actions of the action bar and the 问题台账 export.

Every status action goes through the same role-aware guard as the API
(:func:`inspections.cases.services.status.case_set_status`); a refusal is
shown as a message in the reader's language, never as its code.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.cases import exports
from inspections.cases.admin.filters import EscalationLevelFilter, OverdueFilter, PublicityFilter
from inspections.cases.admin.inlines import CaseEventInline, RectificationInline, TypicalCaseInline
from inspections.cases.errors import MergeTargetInvalid
from inspections.cases.models import (
    Case,
    LedgerExport,
    escalation_level_name,
)
from inspections.cases.selectors import case_list
from inspections.cases.services.escalation import case_escalate
from inspections.cases.services.review import case_confirm, case_merge, case_void
from inspections.cases.services.status import (
    case_close,
    case_reopen,
    case_send_back,
    case_start_rectifying,
    case_verify,
)
from inspections.common.admin import message_refusal
from inspections.common.china_time import local_date
from inspections.common.errors import DomainError
from inspections.evidence import services as evidence_services
from inspections.evidence.models import Photo
from inspections.evidence.storage import STORAGE_ERRORS
from inspections.publication import services as publication_services
from villages.admin_search import VillageSearchAdmin
from villages.scoping import DIVISION_LEVEL_FILTERS, JurisdictionScopedAdmin


def run_action(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[Case],
    service: Callable[[Case, User], Any],
    done: Any,
) -> None:
    """Call the service once per case; each refusal is shown in the reader's language, naming its case."""
    user = request.user
    assert isinstance(user, User)
    succeeded = 0
    for case in queryset.order_by("id"):
        try:
            service(case, user)
        except DomainError as refusal:
            # A bulk action refuses case by case: say which one.
            refusal.detail = gettext("Case #%(id)s: %(reason)s") % {"id": case.pk, "reason": refusal.detail}
            message_refusal(modeladmin, request, refusal)
        else:
            succeeded += 1
    if succeeded:
        modeladmin.message_user(request, done % {"count": succeeded}, level=messages.SUCCESS)


class CaseActionForm(ActionForm):
    """The admin's action bar, with the reason a void needs and the problem a duplicate merges into."""

    note = forms.CharField(label=_("reason / note"), required=False, max_length=2000)
    merge_into = forms.IntegerField(label=_("merge into problem #"), required=False, min_value=1)


class CaseListAdmin(VillageSearchAdmin, JurisdictionScopedAdmin):
    """The problems' list: scoped, with overdue and escalation badges, its actions and the 问题台账 export."""

    scope_code_field = "village__code"
    action_form = CaseActionForm
    # Fits 1280 px beside the filters: the village by name (its code is on the page and in the
    # ledger), days rather than times; the reopen count is on the problem's page.
    list_display = [
        "id",
        "village_name",
        "category",
        "severity",
        "status",
        "deadline_badge",
        "escalation_badge",
        "days_overdue_column",
        "is_relapse",
        "opened_on",
    ]
    list_filter = [
        "status",
        OverdueFilter,
        EscalationLevelFilter,
        "category",
        "severity",
        "is_relapse",
        "is_false_rectification",
        PublicityFilter,
        # By name, level by level: county, then township, then village (the search finds any village).
        *DIVISION_LEVEL_FILTERS,
        ("opened_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["village", "category"]
    # A problem by its number, or by its village's name or code (VillageSearchAdmin).
    search_fields = ["village"]
    search_by_id = True
    readonly_fields = [
        "finding",
        "inspection",
        "village",
        "category",
        "severity",
        "status",
        "opened_at",
        "deadline",
        "deadline_from",
        "deadline_working_days",
        "deadline_warning",
        "reopen_count",
        "is_relapse",
        "is_false_rectification",
        "closed_at",
        "publicity_until",
        "organising_division",
        "handed_over_at",
        "handed_over_by",
        "merged_into",
        "review_note",
        "escalation_level",
        "escalated_at",
        "escalation_due_on",
        "event_count",
        "last_event_hash",
    ]
    inlines = [TypicalCaseInline, RectificationInline, CaseEventInline]
    actions = [
        "action_confirm",
        "action_merge",
        "action_void",
        "action_verify",
        "action_close",
        "action_send_back",
        "action_reopen",
        "action_escalate",
        "action_publish",
        "action_start_rectifying",
        "action_mark_flags_reviewed",
    ]
    # The national list holds half a million problems: one count per page (no second count of
    # the unfiltered list, no facet counts), and the "found on" filter by period, not a date
    # drill-down (which scans the list for its first and last dates and for its years).
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cases open from submitted inspections only

    @admin.display(description=_("village"), ordering="village__name")
    def village_name(self, case: Case) -> str:
        return case.village.name

    @admin.display(description=_("found on"), ordering="opened_at")
    def opened_on(self, case: Case) -> str:
        return f"{local_date(case.opened_at):%Y-%m-%d}"

    @admin.display(description=_("days overdue"))
    def days_overdue_column(self, case: Case) -> Any:
        return case.days_overdue(local_date(timezone.now())) or "—"

    # --- The 问题台账 export: the list as it is filtered, as a spreadsheet ------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name="inspections_case_export"),
            path("export/<uuid:key>/", wrap(self.export_status_view), name="inspections_case_export_status"),
            path("export/<uuid:key>/file/", wrap(self.export_file_view), name="inspections_case_export_file"),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        if not self.has_view_permission(request) or not isinstance(request.user, User):
            raise PermissionDenied
        params = request.GET.urlencode()
        queryset = exports.ledger_queryset(user=request.user, params=params)
        if queryset.count() > exports.ledger_inline_limit():
            export = exports.ledger_export_start(user=request.user, params=params)
            return redirect("admin:inspections_case_export_status", key=export.uuid)
        today = local_date(timezone.now())
        # FileResponse closes the buffer once it is sent.
        buffer = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        exports.ledger_write(queryset, buffer, language=get_language(), today=today)  # type: ignore[arg-type]
        buffer.seek(0)
        return FileResponse(
            buffer,
            as_attachment=True,
            filename=exports.ledger_file_name(today),
            content_type=exports.CONTENT_TYPE,
        )

    def _own_export(self, request: HttpRequest, key: Any) -> LedgerExport:
        export = LedgerExport.objects.filter(uuid=key).first()
        if export is None or not (request.user.is_superuser or export.requested_by_id == request.user.pk):
            raise Http404
        return export

    def export_status_view(self, request: HttpRequest, key: Any) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        export = self._own_export(request, key)
        exports.ledger_export_nudge(export, now=timezone.now())
        context = {
            **self.admin_site.each_context(request),
            "title": _("Problem ledger export"),
            "opts": self.model._meta,
            "export": export,
            "percent": int(100 * export.written / export.total) if export.total else 0,
        }
        return TemplateResponse(request, "admin/inspections/case/export_status.html", context)

    def export_file_view(self, request: HttpRequest, key: Any) -> HttpResponseBase:
        if not self.has_view_permission(request):
            raise PermissionDenied
        export = self._own_export(request, key)
        if export.status != LedgerExport.Status.DONE:
            raise Http404
        try:
            stored = default_storage.open(export.file_name, "rb")
        except STORAGE_ERRORS:
            response = HttpResponse(_("The file storage is unavailable; try again later."), status=503)
            response["Retry-After"] = "60"
            return response
        return FileResponse(
            stored,
            as_attachment=True,
            filename=export.download_name,
            content_type=exports.CONTENT_TYPE,
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("deadline"), ordering="deadline")
    def deadline_badge(self, case: Case) -> Any:
        warning = (
            format_html(' <span title="{}">⚠</span>', case.deadline_warning) if case.deadline_warning else ""
        )
        if case.is_overdue(local_date(timezone.now())):
            return format_html(
                '<span style="color:#fff;background:#ba2121;padding:0 .4em;border-radius:3px">{} {}</span>{}',
                case.deadline,
                _("overdue"),
                warning,
            )
        return format_html("{}{}", case.deadline, warning)

    @admin.display(description=_("escalation"), ordering="escalation_level")
    def escalation_badge(self, case: Case) -> Any:
        if not case.escalation_level:
            return "—"
        return format_html(
            '<span style="color:#fff;background:#c77c00;padding:0 .4em;border-radius:3px">{}</span>',
            escalation_level_name(case.escalation_level),
        )

    @admin.action(description=_("Confirm and hand over (交办)"), permissions=["change"])
    def action_confirm(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        note = request.POST.get("note", "")
        run_action(
            self,
            request,
            queryset,
            lambda c, u: case_confirm(case=c, actor=u, note=note),
            _("%(count)d confirmed and handed over."),
        )

    @admin.action(description=_("Void (give the reason)"), permissions=["change"])
    def action_void(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        note = request.POST.get("note", "")
        run_action(
            self,
            request,
            queryset,
            lambda c, u: case_void(case=c, actor=u, note=note),
            _("%(count)d voided."),
        )

    @admin.action(description=_("Merge as duplicates into the problem given"), permissions=["change"])
    def action_merge(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        note = request.POST.get("note", "")
        raw = request.POST.get("merge_into", "")
        target = Case.objects.filter(pk=int(raw)).first() if raw.isdigit() else None

        def merge(case: Case, actor: User) -> Case:
            if target is None or not case_list(user=actor).filter(pk=target.pk).exists():
                raise MergeTargetInvalid()
            return case_merge(case=case, into=target, actor=actor, note=note)

        run_action(self, request, queryset, merge, _("%(count)d merged."))

    @admin.action(
        description=_("Close (销号) by desk review (record what was checked)"), permissions=["change"]
    )
    def action_verify(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        note = request.POST.get("note", "")
        run_action(
            self,
            request,
            queryset,
            lambda c, u: case_verify(case=c, actor=u, note=note),
            _("%(count)d closed."),
        )

    @admin.action(description=_("Sign off the 销号 of a passed verification"), permissions=["change"])
    def action_close(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        note = request.POST.get("note", "")
        run_action(
            self,
            request,
            queryset,
            lambda c, u: case_close(case=c, actor=u, note=note),
            _("%(count)d closed."),
        )

    @admin.action(description=_("Mark the photos' evidence flags reviewed"), permissions=["change"])
    def action_mark_flags_reviewed(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        """Record the review of the flagged rectification after-photos of the selected cases."""
        assert isinstance(request.user, User)
        count = evidence_services.photo_flags_mark_reviewed_as_shown(
            photos=Photo.objects.filter(case__in=queryset),
            actor=request.user,
            visible_cases=case_list(user=request.user),
        )
        self.message_user(
            request, _("Flags of %(count)d photos marked reviewed.") % {"count": count}, messages.SUCCESS
        )

    @admin.action(description=_("Reopen"), permissions=["change"])
    def action_reopen(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        run_action(
            self,
            request,
            queryset,
            lambda c, u: case_reopen(case=c, actor=u),
            _("%(count)d reopened."),
        )

    @admin.action(description=_("Escalate (督办)"), permissions=["change"])
    def action_escalate(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        run_action(
            self,
            request,
            queryset,
            lambda c, u: case_escalate(case=c, actor=u),
            _("%(count)d escalated."),
        )

    @admin.action(description=_("Publish as a typical case"), permissions=["change"])
    def action_publish(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        run_action(
            self,
            request,
            queryset,
            lambda c, u: publication_services.typical_case_publish(case=c, actor=u),
            _("%(count)d published."),
        )

    @admin.action(description=_("Mark as rectifying"), permissions=["change"])
    def action_start_rectifying(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        run_action(
            self,
            request,
            queryset,
            lambda c, u: case_start_rectifying(case=c, actor=u),
            _("%(count)d marked as rectifying."),
        )

    @admin.action(description=_("Send back to rectifying (new deadline)"), permissions=["change"])
    def action_send_back(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        run_action(
            self,
            request,
            queryset,
            lambda c, u: case_send_back(case=c, actor=u),
            _("%(count)d sent back."),
        )
