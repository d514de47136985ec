"""The 督办 ladder: steps, bulletins (通报), summonses (约谈), referrals (问责)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.cases.ladder_documents import (
    bulletin_pdf,
    bulletin_sections,
    bulletin_totals,
    supervision_pdf,
)
from inspections.cases.models import (
    Bulletin,
    LadderStep,
    Referral,
    Summons,
)
from inspections.cases.selectors import case_list
from inspections.cases.services.ladder import (
    bulletin_set_public,
    ladder_entry_check,
    referral_outcome_record,
    referral_record,
    summons_record,
    summons_report_record,
)
from inspections.common.admin import ReadOnlyAdminMixin, message_refusal
from inspections.common.china_time import display, local_date
from inspections.common.errors import DomainError
from inspections.common.pdf import CONTENT_TYPE
from villages.scoping import JurisdictionScopedAdmin, request_prefix


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
