"""The 问题清单 on the problem page: 责任单位, 责任人, 整改时限, stages, the 交办单 and 问题整改单."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import Role, User
from inspections.cases.admin.changelist import CaseListAdmin
from inspections.cases.admin.inlines import CaseStageInline
from inspections.cases.models import (
    Case,
    Department,
)
from inspections.cases.services.handover_sheet import handover_sheet_filename, handover_sheet_pdf
from inspections.cases.services.problem_list import (
    case_change_deadline,
    case_set_responsibility,
    case_stage_add,
    deadline_change_check,
    responsibility_check,
    stage_add_check,
)
from inspections.cases.services.rectification_sheet import (
    rectification_sheet_filename,
    rectification_sheet_pdf,
)
from inspections.cases.services.review import is_handed_over
from inspections.common.errors import DomainError
from villages.models import Division, Village


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


class ProblemListAdmin(CaseListAdmin):
    """The problem page with its 问题清单: responsibility, measures, 签收, time limit, stages, the 交办单."""

    form = ProblemListForm
    readonly_fields = [
        *CaseListAdmin.readonly_fields,
        "handover_sheet_link",
        "measures",
        "measures_submitted_at",
        "received_at",
        "received_by",
    ]
    inlines = [*CaseListAdmin.inlines[:-1], CaseStageInline, *CaseListAdmin.inlines[-1:]]

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
            path(
                "<int:object_id>/rectification-sheet/",
                self.admin_site.admin_view(self.rectification_sheet_view),
                name="inspections_case_rectification_sheet",
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

    def rectification_sheet_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The 问题整改单 PDF (the page's object tools link to it), to whoever sees the problem here."""
        case = self.get_queryset(request).filter(pk=object_id).first()
        if case is None or not self.has_view_permission(request, case) or not isinstance(request.user, User):
            raise Http404
        response = HttpResponse(
            rectification_sheet_pdf(case=case, viewer=request.user, now=timezone.now()),
            content_type="application/pdf",
        )
        response["Content-Disposition"] = f'attachment; filename="{rectification_sheet_filename(case)}"'
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
