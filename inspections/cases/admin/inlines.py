"""The problem page's inlines: its timeline, rectifications, typical-case entry and stages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.cases.admin.evidence import ProblemEvidence
from inspections.cases.flags import after_photo_flag_explanation
from inspections.cases.models import (
    CaseEvent,
    CaseStage,
    Rectification,
)
from inspections.common.admin import ReadOnlyInline
from inspections.common.china_time import local_date
from inspections.common.errors import DomainError
from inspections.publication import services as publication_services
from inspections.publication.models import TypicalCase


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
    """Each rectification with its after-photos as pictures that enlarge (the reader's own view of them)."""

    model = Rectification
    readonly_fields = ("created_at", "submitted_by", "description", "after_photos", "flags_explained")
    fields = tuple(readonly_fields)
    # Django makes a fresh inline for each request: the reader's view of the photos is
    # worked out at the first row shown, and kept.
    _reader: User | None = None
    _evidence: ProblemEvidence | None = None

    class Media:
        css = {"all": ["inspections/evidence.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rectification]:
        self._reader = request.user if isinstance(request.user, User) else None
        return super().get_queryset(request)

    @admin.display(description=_("after-photos"))
    def after_photos(self, rectification: Rectification) -> Any:
        if self._reader is None:
            return "—"
        if self._evidence is None or self._evidence.case.pk != rectification.case_id:
            self._evidence = ProblemEvidence(rectification.case, self._reader)
        figures, missing = self._evidence.after(rectification, compact=True)
        return render_to_string(
            "admin/inspections/photo/figures.html",
            {"figures": figures, "missing": missing, "empty": "—"},
        )

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
