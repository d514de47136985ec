"""Cases in the admin: scoped lists with overdue and escalation badges, a read-only
timeline, and actions that call the services (nothing edits a status directly).

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
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import Role, User
from inspections.cases import exports
from inspections.cases.errors import MergeTargetInvalid
from inspections.cases.flags import after_photo_flag_explanation
from inspections.cases.ladder_documents import (
    bulletin_pdf,
    bulletin_sections,
    bulletin_totals,
    supervision_pdf,
)
from inspections.cases.models import (
    ESCALATION_LEVEL_NAMES,
    Bulletin,
    Case,
    CaseEvent,
    CaseNotification,
    CaseStage,
    CaseStatus,
    DeadlineRule,
    Department,
    ExtensionRequest,
    FollowUp,
    FollowUpDraw,
    LadderStep,
    LedgerExport,
    Rectification,
    Referral,
    ReviewPolicy,
    Summons,
    escalation_level_name,
)
from inspections.cases.selectors import case_list
from inspections.cases.services.escalation import case_escalate
from inspections.cases.services.extensions import extension_decide
from inspections.cases.services.handover_sheet import handover_sheet_filename, handover_sheet_pdf
from inspections.cases.services.ladder import (
    bulletin_set_public,
    ladder_entry_check,
    referral_outcome_record,
    referral_record,
    summons_record,
    summons_report_record,
)
from inspections.cases.services.problem_list import (
    case_change_deadline,
    case_set_responsibility,
    case_stage_add,
    deadline_change_check,
    responsibility_check,
    stage_add_check,
)
from inspections.cases.services.review import case_confirm, case_merge, case_void, is_handed_over
from inspections.cases.services.status import (
    case_close,
    case_reopen,
    case_send_back,
    case_start_rectifying,
    case_verify,
)
from inspections.common.admin import ReadOnlyAdminMixin, ReadOnlyInline, message_refusal
from inspections.common.china_time import display, local_date
from inspections.common.errors import DomainError
from inspections.common.pdf import CONTENT_TYPE
from inspections.evidence import services as evidence_services
from inspections.evidence.flags import photos_with_flags_shown
from inspections.evidence.models import Photo
from inspections.evidence.selectors import visible_photos
from inspections.evidence.storage import STORAGE_ERRORS
from inspections.fieldwork.models import Inspection
from inspections.fieldwork.selectors import inspection_list
from inspections.publication import services as publication_services
from inspections.publication.models import TypicalCase
from villages.models import Division, Village
from villages.scoping import JurisdictionScopedAdmin, request_prefix


class CaseEventInline(ReadOnlyInline):
    """The timeline: append-only, shown read-only in order."""

    model = CaseEvent
    readonly_fields = [
        "seq",
        "created_at",
        "kind",
        "actor",
        "from_status",
        "to_status",
        "escalation_level",
        "note",
        "hash",
    ]
    fields = tuple(readonly_fields)
    ordering = ["seq"]
    verbose_name_plural = _("timeline")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseEvent]:
        return super().get_queryset(request).select_related("actor")


class RectificationInline(ReadOnlyInline):
    model = Rectification
    readonly_fields = ("created_at", "submitted_by", "description", "photo_uuids", "flags_explained")
    fields = tuple(readonly_fields)

    @admin.display(description=_("flags"))
    def flags_explained(self, rectification: Rectification) -> Any:
        """Each stored flag explained in the reader's language, one per line."""
        if not rectification.flags:
            return "—"
        return format_html_join(
            "", "<div>{}</div>", ((after_photo_flag_explanation(flag),) for flag in rectification.flags)
        )


class TypicalCaseForm(forms.ModelForm):  # type: ignore[type-arg]
    # Set by TypicalCaseInline.get_formset: who saves it.
    editor: User | None = None

    class Meta:
        model = TypicalCase
        fields = ["title_zh_hans", "title_en", "summary_zh_hans", "summary_en", "photo_uuids"]

    def clean_photo_uuids(self) -> Any:
        """Only photos of this case the editor may see (publishing checks it again)."""
        value = self.cleaned_data.get("photo_uuids")
        case = getattr(self.instance, "case", None)
        if not value or self.editor is None or case is None:
            return value
        if not isinstance(value, list):
            raise forms.ValidationError(_("A list of photo UUIDs."))
        try:
            return publication_services.typical_case_photos_check(
                case=case, actor=self.editor, photo_uuids=value
            )
        except DomainError as refusal:
            raise forms.ValidationError(str(refusal.detail)) from refusal


class TypicalCaseInline(admin.StackedInline):  # type: ignore[type-arg]
    model = TypicalCase
    form = TypicalCaseForm
    extra = 0
    can_delete = False
    fields = ["title_zh_hans", "title_en", "summary_zh_hans", "summary_en", "photo_uuids", "published_at"]
    readonly_fields = ["published_at"]
    verbose_name_plural = _("typical case (public summary: no personal names)")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.editor = request.user if isinstance(request.user, User) else None  # type: ignore[attr-defined]
        return formset


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


class DivisionPrefixFilter(admin.SimpleListFilter):
    """The counties (and townships) of the caller's jurisdiction, as code prefixes."""

    title = _("division")
    parameter_name = "division"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        from villages.models import Division

        prefix = getattr(request.user, "scope_prefix", lambda: None)()
        if prefix is None:
            return []
        divisions = Division.objects.within(prefix).filter(level__in=[2, 3]).order_by("code")[:200]
        return [(d.code, f"{d.name} ({d.code})") for d in divisions]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(village__code__startswith=self.value())
        return queryset


def _run_action(
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


@admin.register(Case)
class CaseAdmin(JurisdictionScopedAdmin):
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
        DivisionPrefixFilter,
        ("opened_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["village", "category"]
    search_fields = ["=id", "village__name", "^village__code"]
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(inspection__status=Inspection.Status.SUBMITTED)

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
        _run_action(
            self,
            request,
            queryset,
            lambda c, u: case_confirm(case=c, actor=u, note=note),
            _("%(count)d confirmed and handed over."),
        )

    @admin.action(description=_("Void (give the reason)"), permissions=["change"])
    def action_void(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        note = request.POST.get("note", "")
        _run_action(
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

        _run_action(self, request, queryset, merge, _("%(count)d merged."))

    @admin.action(
        description=_("Close (销号) by desk review (record what was checked)"), permissions=["change"]
    )
    def action_verify(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        note = request.POST.get("note", "")
        _run_action(
            self,
            request,
            queryset,
            lambda c, u: case_verify(case=c, actor=u, note=note),
            _("%(count)d closed."),
        )

    @admin.action(description=_("Sign off the 销号 of a passed verification"), permissions=["change"])
    def action_close(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        note = request.POST.get("note", "")
        _run_action(
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
        # Only photos with a flag the reviewer is shown: an after-photo whose only flag
        # names a visit still under way is neither marked nor counted.
        flagged = photos_with_flags_shown(
            Photo.objects.filter(case__in=queryset),
            visible=visible_photos(user=request.user, visible_cases=case_list(user=request.user)),
        )
        count = evidence_services.photo_flags_mark_reviewed(
            photos=Photo.objects.filter(pk__in=flagged), actor=request.user
        )
        self.message_user(
            request, _("Flags of %(count)d photos marked reviewed.") % {"count": count}, messages.SUCCESS
        )

    @admin.action(description=_("Reopen"), permissions=["change"])
    def action_reopen(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        _run_action(
            self,
            request,
            queryset,
            lambda c, u: case_reopen(case=c, actor=u),
            _("%(count)d reopened."),
        )

    @admin.action(description=_("Escalate (督办)"), permissions=["change"])
    def action_escalate(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        _run_action(
            self,
            request,
            queryset,
            lambda c, u: case_escalate(case=c, actor=u),
            _("%(count)d escalated."),
        )

    @admin.action(description=_("Publish as a typical case"), permissions=["change"])
    def action_publish(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        _run_action(
            self,
            request,
            queryset,
            lambda c, u: publication_services.typical_case_publish(case=c, actor=u),
            _("%(count)d published."),
        )

    @admin.action(description=_("Mark as rectifying"), permissions=["change"])
    def action_start_rectifying(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        _run_action(
            self,
            request,
            queryset,
            lambda c, u: case_start_rectifying(case=c, actor=u),
            _("%(count)d marked as rectifying."),
        )

    @admin.action(description=_("Send back to rectifying (new deadline)"), permissions=["change"])
    def action_send_back(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        _run_action(
            self,
            request,
            queryset,
            lambda c, u: case_send_back(case=c, actor=u),
            _("%(count)d sent back."),
        )


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


@admin.register(ReviewPolicy)
class ReviewPolicyAdmin(JurisdictionScopedAdmin):
    scope_code_field = "division__code"
    list_display = ["division", "auto_hand_over"]
    # A province holds tens of thousands of divisions, the country 665,000: searched, not listed.
    autocomplete_fields = ["division"]


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


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["category", "severity", "working_days"]
    list_filter = ["severity", "category__domain"]
    list_editable = ["working_days"]
    list_select_related = ["category"]


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


# --- The 督办 ladder: steps, bulletins (通报), summonses (约谈), referrals (问责) ----------------


@admin.register(LadderStep)
class LadderStepAdmin(ReadOnlyAdminMixin, JurisdictionScopedAdmin):
    """The 提醒 and 督办单 issued, scoped to the caller's jurisdiction; written by the ladder job only."""

    scope_code_field = "case__village__code"
    list_display = [
        "case",
        "kind",
        "deadline",
        "issued_at_china",
        "reply_due",
        "withdrawn_at",
        "withdrawn_reason",
    ]
    list_filter = ["kind", ("withdrawn_at", admin.EmptyFieldListFilter)]
    list_select_related = ["case__village", "case__category"]
    readonly_fields = [f.name for f in LadderStep._meta.fields]

    @admin.display(description=_("issued at"), ordering="issued_at")
    def issued_at_china(self, step: LadderStep) -> str:
        return display(step.issued_at)

    def get_urls(self) -> list[Any]:
        own = [
            path(
                "<path:object_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="inspections_ladderstep_pdf",
            )
        ]
        return own + super().get_urls()

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The 督办单 of a step, as sent (404 outside the jurisdiction, or for a reminder)."""
        step = self.get_object(request, object_id)
        if (
            step is None
            or step.kind != LadderStep.Kind.SUPERVISION
            or not self.has_view_permission(request, step)
        ):
            raise Http404
        response = HttpResponse(supervision_pdf(step=step), content_type=CONTENT_TYPE)
        response["Content-Disposition"] = f'inline; filename="dubandan-{step.case_id}.pdf"'
        return response


@admin.register(Bulletin)
class BulletinAdmin(JurisdictionScopedAdmin):
    """The monthly bulletins (通报) of the caller's jurisdiction and those below it, read and printed.

    Compiled by the monthly job, never edited; a supervisor of the bulletin's
    own jurisdiction (or above) shows it on the public pages or withdraws it.
    """

    scope_code_field = "division__code"
    list_display = [
        "division",
        "month",
        "overdue_count",
        "relapsed_count",
        "false_count",
        "is_public",
        "compiled_at",
    ]
    list_filter = ["is_public", "month"]
    list_select_related = ["division"]
    fields = ["division", "month", "compiled_at", "is_public", "rendered"]
    readonly_fields = ["division", "month", "compiled_at", "is_public", "rendered"]
    actions = ["action_make_public", "action_withdraw_public"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _total(self, bulletin: Bulletin, name: str) -> int:
        return int(bulletin.content.get("totals", {}).get(name, 0))

    @admin.display(description=_("overdue"))
    def overdue_count(self, bulletin: Bulletin) -> int:
        return self._total(bulletin, "overdue")

    @admin.display(description=_("relapsed"))
    def relapsed_count(self, bulletin: Bulletin) -> int:
        return self._total(bulletin, "relapsed")

    @admin.display(description=_("false rectification"))
    def false_count(self, bulletin: Bulletin) -> int:
        return self._total(bulletin, "false_rectification")

    @admin.display(description=_("bulletin"))
    def rendered(self, bulletin: Bulletin) -> Any:
        """The bulletin as printed (with the problems' numbers: this copy is internal), and its PDF."""
        headers, sections = bulletin_sections(bulletin, public=False)
        totals = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", bulletin_totals(bulletin))
        parts = [
            format_html(
                '<p><a href="{}">{}</a></p><table>{}</table>',
                reverse("admin:inspections_bulletin_pdf", args=[bulletin.pk]),
                _("PDF"),
                totals,
            )
        ]
        head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
        for section in sections:
            parts.append(format_html("<h3>{} ({})</h3>", section.name, section.code))
            for title, rows in section.lists:
                body = format_html_join(
                    "",
                    "<tr>{}</tr>",
                    ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
                )
                parts.append(format_html("<h4>{}</h4><table><tr>{}</tr>{}</table>", title, head, body))
        return format_html_join("", "{}", ((part,) for part in parts))

    def get_urls(self) -> list[Any]:
        own = [
            path(
                "<path:object_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="inspections_bulletin_pdf",
            )
        ]
        return own + super().get_urls()

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The internal PDF of a bulletin (404 outside the caller's jurisdiction)."""
        bulletin = self.get_object(request, object_id)
        if bulletin is None or not self.has_view_permission(request, bulletin):
            raise Http404
        response = HttpResponse(bulletin_pdf(bulletin, public=False), content_type=CONTENT_TYPE)
        response["Content-Disposition"] = (
            f'inline; filename="tongbao-{bulletin.division.code}-{bulletin.month:%Y-%m}.pdf"'
        )
        return response

    def _set_public(self, request: HttpRequest, queryset: QuerySet[Bulletin], *, public: bool) -> None:
        user = request.user
        assert isinstance(user, User)
        done = 0
        for bulletin in queryset.select_related("division").order_by("pk"):
            try:
                bulletin_set_public(bulletin=bulletin, actor=user, public=public)
            except DomainError as refusal:
                message_refusal(self, request, refusal)
            else:
                done += 1
        if done:
            self.message_user(request, _("%(count)d bulletins changed.") % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Show on the public pages"), permissions=["change"])
    def action_make_public(self, request: HttpRequest, queryset: QuerySet[Bulletin]) -> None:
        self._set_public(request, queryset, public=True)

    @admin.action(description=_("Withdraw from the public pages"), permissions=["change"])
    def action_withdraw_public(self, request: HttpRequest, queryset: QuerySet[Bulletin]) -> None:
        self._set_public(request, queryset, public=False)


class _LadderEntryForm(forms.ModelForm):  # type: ignore[type-arg]
    """A 约谈 or 问责 entered by a supervisor: the unit and the problems must lie within the jurisdiction."""

    entered_by: User | None = None
    subject_field = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        division, subject = cleaned.get("division"), cleaned.get(self.subject_field)
        if self.instance.pk is None and self.entered_by is not None and division and subject:
            try:
                ladder_entry_check(self.entered_by, division, subject, list(cleaned.get("cases") or []))
            except DomainError as refusal:
                raise forms.ValidationError(str(refusal.detail)) from refusal
        return cleaned


class SummonsForm(_LadderEntryForm):
    subject_field = "summoned_division"

    class Meta:
        model = Summons
        fields = [
            "division",
            "summoned_division",
            "summoned_persons",
            "held_at",
            "attendees",
            "minutes",
            "cases",
            "report_received_on",
            "report_note",
        ]


class ReferralForm(_LadderEntryForm):
    subject_field = "subject_division"

    class Meta:
        model = Referral
        fields = [
            "division",
            "subject_division",
            "summons",
            "cases",
            "referred_to",
            "referred_on",
            "reason",
            "outcome",
            "outcome_on",
            "outcome_note",
        ]


class _LadderEntryAdmin(JurisdictionScopedAdmin):
    """Entered through the services (each a history event on the problems named); never deleted."""

    scope_code_field = "division__code"
    raw_id_fields = ["cases"]
    entry_fields: list[str] = []
    follow_up_fields: list[str] = []

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.entered_by = request.user if isinstance(request.user, User) else None  # type: ignore[attr-defined]
        return form

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.entry_fields if obj is None else [*self.entry_fields, *self.follow_up_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return (
            [*self.entry_fields, "report_due", "created_by", "created_at"]
            if self.model is Summons
            else [
                *self.entry_fields,
                "created_by",
                "created_at",
            ]
        )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        jurisdiction = getattr(request.user, "jurisdiction_id", None)
        if jurisdiction is not None:
            initial.setdefault("division", jurisdiction)
        return initial

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "cases" and isinstance(request.user, User):
            kwargs["queryset"] = case_list(user=request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # the services set the problems named

    def _refuse(self, request: HttpRequest, refusal: DomainError) -> None:
        message_refusal(self, request, refusal)


@admin.register(Summons)
class SummonsAdmin(_LadderEntryAdmin):
    """约谈 held by the caller's jurisdiction (or below), entered and followed up by its supervisors."""

    form = SummonsForm
    list_display = ["summoned_division", "held_at", "division", "report_due", "report_received_on"]
    list_filter = [("report_received_on", admin.EmptyFieldListFilter)]
    list_select_related = ["division", "summoned_division"]
    raw_id_fields = ["cases", "division", "summoned_division"]
    entry_fields = [
        "division",
        "summoned_division",
        "summoned_persons",
        "held_at",
        "attendees",
        "minutes",
        "cases",
    ]
    follow_up_fields = ["report_due", "report_received_on", "report_note", "created_by", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and obj.report_received_on is not None:
            readonly = [*readonly, "report_received_on", "report_note"]
        return readonly

    def save_model(self, request: HttpRequest, obj: Summons, form: Any, change: bool) -> None:
        user = request.user
        assert isinstance(user, User)
        data = form.cleaned_data
        if not change:
            made = summons_record(
                actor=user,
                division=data["division"],
                summoned_division=data["summoned_division"],
                summoned_persons=data["summoned_persons"],
                held_at=data["held_at"],
                attendees=data.get("attendees", ""),
                minutes=data.get("minutes", ""),
                cases=list(data.get("cases") or []),
            )
            obj.pk = made.pk
            return
        if data.get("report_received_on") and "report_received_on" in form.changed_data:
            summons_report_record(
                summons=obj,
                actor=user,
                received_on=data["report_received_on"],
                note=data.get("report_note", ""),
            )


@admin.register(Referral)
class ReferralAdmin(_LadderEntryAdmin):
    """问责 referrals made by the caller's jurisdiction (or below), and their outcomes."""

    form = ReferralForm
    list_display = ["subject_division", "referred_to", "referred_on", "division", "outcome", "outcome_on"]
    list_filter = ["outcome"]
    list_select_related = ["division", "subject_division"]
    raw_id_fields = ["cases", "division", "subject_division", "summons"]
    entry_fields = [
        "division",
        "subject_division",
        "summons",
        "cases",
        "referred_to",
        "referred_on",
        "reason",
    ]
    follow_up_fields = ["outcome", "outcome_on", "outcome_note", "created_by", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and obj.outcome != Referral.Outcome.PENDING:
            readonly = [*readonly, "outcome", "outcome_on", "outcome_note"]
        return readonly

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "summons":
            prefix = request_prefix(request)
            queryset = Summons.objects.all()
            kwargs["queryset"] = (
                queryset.none() if prefix is None else queryset.filter(division__code__startswith=prefix)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Referral, form: Any, change: bool) -> None:
        user = request.user
        assert isinstance(user, User)
        data = form.cleaned_data
        if not change:
            made = referral_record(
                actor=user,
                division=data["division"],
                subject_division=data["subject_division"],
                summons=data.get("summons"),
                referred_to=data["referred_to"],
                referred_on=data["referred_on"],
                reason=data["reason"],
                cases=list(data.get("cases") or []),
            )
            obj.pk = made.pk
            return
        if (
            data.get("outcome")
            and data["outcome"] != Referral.Outcome.PENDING
            and "outcome" in form.changed_data
        ):
            referral_outcome_record(
                referral=obj,
                actor=user,
                outcome=data["outcome"],
                decided_on=data.get("outcome_on") or local_date(timezone.now()),
                note=data.get("outcome_note", ""),
            )


# --- The 问题清单 on the problem page: 责任单位, 责任人, 整改时限, stages, the 交办单 --------------------


class CaseStageInline(ReadOnlyInline):
    """The stages of a long-term problem, read-only (added with the form above, done by the party)."""

    model = CaseStage
    readonly_fields = ["seq", "description", "due_date", "overdue_badge", "completed_at", "completed_by"]
    fields = tuple(readonly_fields)
    ordering = ["seq"]

    @admin.display(description=_("overdue"))
    def overdue_badge(self, stage: CaseStage) -> Any:
        if stage.is_overdue(local_date(timezone.now()), case_status=stage.case.status):
            return format_html(
                '<span style="color:#fff;background:#ba2121;padding:0 .4em">{}</span>', _("overdue")
            )
        return "—"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseStage]:
        return super().get_queryset(request).select_related("case", "completed_by")


class ProblemListForm(forms.ModelForm):  # type: ignore[type-arg]
    """The assigning level's part of the problem page: who rectifies, the time limit, a new stage.

    Every change goes through the services (one history event each); a refusal
    is a form error in the reader's language.
    """

    new_deadline = forms.DateField(
        label=_("new time limit (整改时限)"),
        required=False,
        help_text=_("Moves the deadline; a written reason is required."),
    )
    deadline_reason = forms.CharField(
        label=_("reason for the new time limit"), required=False, max_length=2000, widget=forms.Textarea
    )
    stage_description = forms.CharField(
        label=_("new stage: description"), required=False, max_length=2000, widget=forms.Textarea
    )
    stage_due_date = forms.DateField(label=_("new stage: due date"), required=False)

    # Set by ProblemCaseAdmin.get_form: who edits.
    editor: User | None = None

    class Meta:
        model = Case
        fields = [
            "responsible_division",
            "responsible_village",
            "responsible_department",
            "responsible_person_name",
            "responsible_person_post",
            "responsible_person",
        ]

    RESPONSIBILITY = Meta.fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        case: Case | None = self.instance if self.instance.pk else None
        fields = self.fields
        if case is None:
            return
        village = case.village
        prefixes = [village.code[:n] for n in (2, 4, 6, 9)]
        if "responsible_division" in fields:
            fields["responsible_division"].queryset = Division.objects.filter(code__in=prefixes)  # type: ignore[attr-defined]
            fields["responsible_village"].queryset = Village.objects.filter(pk=village.pk)  # type: ignore[attr-defined]
            fields["responsible_department"].queryset = Department.objects.filter(active=True)  # type: ignore[attr-defined]
            fields["responsible_person"].queryset = (  # type: ignore[attr-defined]
                User.objects.filter(
                    is_active=True, groups__name=Role.RESPONSIBLE_PARTY, jurisdiction__code__in=prefixes
                )
                .distinct()
                .order_by("username")
            )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        case: Case = self.instance
        editor = self.editor
        if editor is None or case.pk is None:
            return cleaned
        now = timezone.now()
        try:
            if any(name in self.changed_data for name in self.RESPONSIBILITY):
                responsibility_check(
                    case=case,
                    actor=editor,
                    division=cleaned.get("responsible_division"),
                    village=cleaned.get("responsible_village"),
                    account=cleaned.get("responsible_person"),
                )
            deadline = cleaned.get("new_deadline")
            if deadline is not None:
                deadline_change_check(
                    case=case,
                    actor=editor,
                    deadline=deadline,
                    reason=cleaned.get("deadline_reason", ""),
                    now=now,
                )
            description, due = cleaned.get("stage_description", ""), cleaned.get("stage_due_date")
            if description or due:
                if due is None:
                    raise forms.ValidationError({"stage_due_date": _("A stage needs its due date.")})
                if not description.strip():
                    raise forms.ValidationError({"stage_description": _("A stage needs its description.")})
                probe = Case.objects.get(pk=case.pk)
                if deadline is not None:
                    probe.deadline = deadline  # the stage is checked against the time limit being set
                stage_add_check(case=probe, actor=editor, description=description, due_date=due, now=now)
        except DomainError as refusal:
            raise forms.ValidationError(str(refusal.detail)) from refusal
        return cleaned


class ProblemCaseAdmin(CaseAdmin):
    """The problem page with its 问题清单: responsibility, measures, 签收, time limit, stages, the 交办单."""

    form = ProblemListForm
    readonly_fields = [
        *CaseAdmin.readonly_fields,
        "handover_sheet_link",
        "measures",
        "measures_submitted_at",
        "received_at",
        "received_by",
    ]
    inlines = [*CaseAdmin.inlines[:-1], CaseStageInline, *CaseAdmin.inlines[-1:]]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.editor = request.user if isinstance(request.user, User) else None  # type: ignore[attr-defined]
        return form

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:object_id>/handover-sheet/",
                self.admin_site.admin_view(self.handover_sheet_view),
                name="inspections_case_handover_sheet",
            ),
            *super().get_urls(),
        ]

    def handover_sheet_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The 交办单 PDF, to whoever sees the problem here; 404 for anyone else or before 交办."""
        case = self.get_queryset(request).filter(pk=object_id).first()
        if case is None or not self.has_view_permission(request, case) or not is_handed_over(case):
            raise Http404
        response = HttpResponse(
            handover_sheet_pdf(case=case, now=timezone.now()), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'attachment; filename="{handover_sheet_filename(case)}"'
        response["Cache-Control"] = "private, no-store"
        return response

    @admin.display(description=_("hand-over sheet (交办单)"))
    def handover_sheet_link(self, case: Case) -> Any:
        if case.pk is None or not is_handed_over(case):
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:inspections_case_handover_sheet", args=[case.pk]),
            _("Download the hand-over sheet (交办单, PDF)"),
        )

    def save_model(self, request: HttpRequest, obj: Case, form: Any, change: bool) -> None:
        """Nothing is saved directly: each change is the service's, with its history event."""
        user = request.user
        assert isinstance(user, User)
        cleaned = form.cleaned_data
        if any(name in form.changed_data for name in ProblemListForm.RESPONSIBILITY):
            case_set_responsibility(
                case=obj,
                actor=user,
                division=cleaned.get("responsible_division"),
                village=cleaned.get("responsible_village"),
                department=cleaned.get("responsible_department"),
                person_name=cleaned.get("responsible_person_name", ""),
                person_post=cleaned.get("responsible_person_post", ""),
                account=cleaned.get("responsible_person"),
            )
        if cleaned.get("new_deadline") is not None:
            case_change_deadline(
                case=obj,
                actor=user,
                deadline=cleaned["new_deadline"],
                reason=cleaned.get("deadline_reason", ""),
            )
        if cleaned.get("stage_description"):
            case_stage_add(
                case=obj,
                actor=user,
                description=cleaned["stage_description"],
                due_date=cleaned["stage_due_date"],
            )
        obj.refresh_from_db()


admin.site.unregister(Case)
admin.site.register(Case, ProblemCaseAdmin)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The departments a problem's responsibility may name (农业农村, 生态环境, 住建, 水利, 卫健…)."""

    list_display = ["name", "position", "active"]
    list_editable = ["position", "active"]
    search_fields = ["name"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # named by problems: retire one by unticking "active"
