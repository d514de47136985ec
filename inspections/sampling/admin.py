"""Sampling plans in the admin: draft, preview, commit, beacon, draw, reassign, publish.

Only a plan's organisers (and superusers) see it, in the list, its count,
its filters and its search (:func:`inspections.sampling.selectors.sampling_plan_list`).
Every page that shows an unpublished plan or an unsubmitted inspection writes
the embargo access log, which the organisers review here too. Refusals of the
services are shown as messages in the reader's language, never as their code.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import Inspector, User
from inspections.common.admin import ReadOnlyAdminMixin, message_refusal
from inspections.common.china_time import display, local_date
from inspections.common.errors import DomainError
from inspections.fieldwork.models import Inspection
from inspections.publication.services import publication_create_for_draw
from inspections.sampling.models import (
    EMBARGO_READ_NAMES,
    Assignment,
    Draw,
    EmbargoAccessLog,
    KeyVillage,
    SamplingPlan,
    TargetedVisit,
)
from inspections.sampling.selectors import (
    coverage_report,
    organiser_choices,
    sampling_plan_list,
    stratum_names,
)
from inspections.sampling.services import (
    ReassignmentCheck,
    assignment_cancel,
    assignment_reassign,
    draw_publish,
    draw_void,
    embargo_reads_record,
    reassignment_checks,
    reassignment_offer,
    sampling_plan_commit,
    sampling_plan_draw,
    sampling_plan_enter_beacon,
    sampling_plan_preview,
)
from inspections.sampling.targeted import targeted_visit_order
from villages.admin_search import VillageSearchAdmin
from villages.models import Division, Village
from villages.scoping import JurisdictionScopedAdmin, request_prefix


def plan_steps(plan: SamplingPlan) -> list[tuple[str, Any]]:
    """The plan page's buttons its state allows, in the workflow's order: ``(url name, label)``.

    A draft is locked (锁定); a locked plan takes its beacon, then is drawn, and may be voided
    while undrawn; a drawn one is published with its results; a voided one has none.
    """
    draw = plan.draw_or_none
    if draw is None:
        return [("admin:inspections_samplingplan_commit", _("Commit"))]
    status = draw.status
    if status == Draw.Status.COMMITTED:
        step = ("admin:inspections_samplingplan_draw", _("Draw"))
        if not draw.beacon:
            step = ("admin:inspections_samplingplan_beacon", _("Enter beacon"))
        return [step, ("admin:inspections_samplingplan_void", _("Void the draw"))]
    if status == Draw.Status.DRAWN:
        return [
            ("admin:inspections_samplingplan_publish", _("Publish")),
            ("admin:inspections_samplingplan_results", _("Results publication")),
        ]
    if status == Draw.Status.PUBLISHED:
        return [("admin:inspections_samplingplan_results", _("Results publication"))]
    return []


# The preview names what it left out, not the codes the frozen parameters use.
EXCLUSION_NAMES = {
    "class": _("left out by class of unit (e.g. residents' committees)"),
    "recently_inspected": _("inspected within the last days set"),
    "urban_rural_class": _("left out by urban-rural class (城乡分类代码)"),
    "visited_this_year": _("already visited this year"),
}


def _division_code(stratum: str) -> str:
    """A stratum's division code, shown beside its name (the key stratum, and a plan's one stratum
    without strata, have none)."""
    return stratum if stratum.isdigit() else "—"


class SamplingPlanForm(forms.ModelForm):  # type: ignore[type-arg]
    excluded_kinds = forms.MultipleChoiceField(
        label=_("excluded classes of unit"),
        choices=Village.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=["residents"],
    )
    urban_rural_classes = forms.MultipleChoiceField(
        label=_("urban-rural classes (城乡分类代码)"),
        choices=Village.UrbanRuralClass.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only villages of these classes; none ticked: every class. Unknown classes are kept."),
    )

    class Meta:
        model = SamplingPlan
        fields = [
            "name",
            "scope",
            "window_start",
            "window_end",
            "organisers",
            "sample_size",
            "sample_rate",
            "stratum_level",
            "min_per_stratum",
            "exclude_inspected_days",
            "excluded_kinds",
            "urban_rural_classes",
            "base_weight",
            "open_cases_weight",
            "overdue_cases_weight",
            "staleness_weight",
            "staleness_cap_days",
            "unvisited_weight",
            "exclude_visited_this_year",
            "key_rate",
            "key_village_codes",
            "team_size",
            "team_pool",
            "recusal_level",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("scope") is None and getattr(self, "scope_prefix", None) != "":
            message = _("Only a national administrator can plan for the whole country.")
            raise ValidationError({"scope": message})
        start = cleaned.get("window_start")
        if start is not None and start <= timezone.now():
            raise ValidationError({"window_start": _("The visit window must start in the future.")})
        codes = cleaned.get("key_village_codes")
        if codes is not None and not (
            isinstance(codes, list) and all(isinstance(c, str) and re.fullmatch(r"\d{12}", c) for c in codes)
        ):
            message = _('A list of 12-digit village codes, e.g. ["330523101200"].')
            raise ValidationError({"key_village_codes": message})
        return cleaned


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("draft", _("draft")),
            ("committed", _("committed")),
            ("drawn", _("drawn")),
            ("published", _("published")),
            ("voided", _("voided")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "draft":
            return queryset.filter(draw__isnull=True)
        if value == "committed":
            return queryset.filter(
                draw__isnull=False, draw__drawn_at__isnull=True, draw__voided_at__isnull=True
            )
        if value == "voided":
            return queryset.filter(draw__voided_at__isnull=False)
        if value == "drawn":
            return queryset.filter(draw__drawn_at__isnull=False, draw__published_at__isnull=True)
        if value == "published":
            return queryset.filter(draw__published_at__isnull=False)
        return queryset


class BeaconForm(forms.Form):
    value = forms.CharField(label=_("beacon value"), max_length=500)
    source = forms.CharField(label=_("where anyone can check it"), max_length=300)


class VoidForm(forms.Form):
    reason = forms.CharField(
        label=_("reason for voiding"),
        widget=forms.Textarea,
        min_length=5,
        help_text=_("Shown on the draw's public record."),
    )


class ReassignForm(forms.Form):
    team = forms.ModelMultipleChoiceField(
        label=_("new team"),
        queryset=Inspector.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Each inspector of the village's team pool with their visits in this draw against their "
            "capacity, and why they are recused if they are; the team as it stands is ticked."
        ),
    )
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea, min_length=5)


class CancelVisitForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        widget=forms.Textarea,
        min_length=5,
        help_text=_("Shown on the draw's public record once the results are published."),
    )


@admin.register(SamplingPlan)
class SamplingPlanAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = SamplingPlanForm
    change_form_template = "admin/inspections/samplingplan/change_form.html"
    list_display = ["name", "scope", "window_start", "window_end", "status_label", "candidate_count"]
    list_filter = [StatusFilter, "stratum_level"]
    search_fields = ["name"]
    list_select_related = ["scope", "draw"]
    autocomplete_fields = ["scope"]
    filter_horizontal = ["organisers"]
    fieldsets = [
        (None, {"fields": ["name", "scope", "window_start", "window_end", "organisers"]}),
        (_("Sample"), {"fields": ["sample_size", "sample_rate", "stratum_level", "min_per_stratum"]}),
        (
            _("Exclusions"),
            {"fields": ["exclude_inspected_days", "excluded_kinds", "urban_rural_classes"]},
        ),
        (
            _(
                "Risk weights: base + per open case × open cases + per overdue case × overdue cases"
                " + staleness × min(days since the last inspection, cap) / cap"
            ),
            {
                "fields": [
                    "base_weight",
                    "open_cases_weight",
                    "overdue_cases_weight",
                    "staleness_weight",
                    "staleness_cap_days",
                ]
            },
        ),
        (
            _("This year's coverage and key villages (重点村)"),
            {"fields": ["unvisited_weight", "exclude_visited_this_year", "key_rate", "key_village_codes"]},
        ),
        (_("Teams"), {"fields": ["team_size", "team_pool", "recusal_level"]}),
        (_("Preview and draw"), {"fields": ["preview", "draw_summary", "assignments_table"]}),
    ]

    # --- Scope: organisers only ----------------------------------------------------

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        form.scope_prefix = request_prefix(request)  # type: ignore[attr-defined]
        return form

    def get_queryset(self, request: HttpRequest) -> QuerySet[SamplingPlan]:
        return sampling_plan_list(user=request.user).select_related("scope", "draw")  # type: ignore[arg-type]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        prefix = request_prefix(request)
        if db_field.name == "scope":
            kwargs["queryset"] = (
                Division.objects.within(prefix) if prefix is not None else Division.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organisers" and isinstance(request.user, User):
            kwargs["queryset"] = organiser_choices(user=request.user)
            # Whoever saves the plan is one of its organisers (save_related): pick only the others.
            kwargs["required"] = False
            kwargs["help_text"] = _(
                "They see the plan, its draw and its inspections before the visits. "
                "You are one of them without picking yourself."
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # A locked plan shows its lists by name, not the codes they hold.
    NAMED_LISTS = {
        "excluded_kinds": "excluded_kind_names",
        "urban_rural_classes": "urban_rural_class_names",
        "key_village_codes": "key_village_names",
    }

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        computed = ["preview", "draw_summary", "assignments_table"]
        if obj is not None and obj.draw_or_none is not None:
            return [f.name for f in SamplingPlan._meta.get_fields() if f.concrete and not f.auto_created] + [
                *computed,
                *self.NAMED_LISTS.values(),
            ]
        return computed

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or obj.draw_or_none is None:
            return fieldsets
        return [
            (title, {**options, "fields": [self.NAMED_LISTS.get(str(f), f) for f in options["fields"]]})
            for title, options in fieldsets
        ]

    @admin.display(description=SamplingPlan._meta.get_field("excluded_kinds").verbose_name)
    def excluded_kind_names(self, obj: SamplingPlan) -> str:
        labels = dict(Village.Kind.choices)
        return "、".join(str(labels.get(kind, kind)) for kind in obj.excluded_kinds or []) or "—"

    @admin.display(description=SamplingPlan._meta.get_field("urban_rural_classes").verbose_name)
    def urban_rural_class_names(self, obj: SamplingPlan) -> str:
        labels = dict(Village.UrbanRuralClass.choices)
        return "、".join(str(labels.get(c, c)) for c in obj.urban_rural_classes or []) or "—"

    @admin.display(description=SamplingPlan._meta.get_field("key_village_codes").verbose_name)
    def key_village_names(self, obj: SamplingPlan) -> str:
        codes = [str(c) for c in obj.key_village_codes or []]
        names = dict(Village.objects.filter(code__in=codes).values_list("code", "name"))
        return "、".join(f"{names[c]} ({c})" if c in names else c for c in codes) or "—"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and obj.draw_or_none is None and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: SamplingPlan, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        # The organisers the picker does not offer this editor (a wider level's): saving keeps them.
        form.organisers_kept = (
            list(obj.organisers.exclude(pk__in=organiser_choices(user=request.user).values("pk")))  # type: ignore[arg-type]
            if change
            else []
        )
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        form.instance.organisers.add(
            request.user, *getattr(form, "organisers_kept", [])
        )  # whoever plans it sees it

    # --- Reads of embargoed plans are logged -------------------------------------------

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            embargo_reads_record(
                user=request.user, action="admin:plan:list", path=request.path, plans=changelist.result_list
            )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        plan = self.get_object(request, unquote(object_id))
        if plan is not None:
            draw = plan.draw_or_none
            inspections = (
                Inspection.objects.filter(assignment__draw=draw).only("id", "status")
                if draw
                else Inspection.objects.none()
            )
            embargo_reads_record(
                user=request.user,
                action="admin:plan:view",
                path=request.path,
                plans=[plan],
                inspections=inspections,
            )
            extra_context = {**(extra_context or {}), "plan_steps": plan_steps(plan)}
        return super().change_view(request, object_id, form_url, extra_context)

    # --- Computed read-only fields -----------------------------------------------------

    @admin.display(description=_("status"))
    def status_label(self, obj: SamplingPlan) -> str:
        draw = obj.draw_or_none
        return str(_("draft")) if draw is None else str(draw.get_status_display())  # type: ignore[attr-defined]

    @admin.display(description=_("candidates"))
    def candidate_count(self, obj: SamplingPlan) -> int | None:
        draw = obj.draw_or_none
        return draw.candidate_count if draw is not None else None

    @admin.display(description=_("preview"))
    def preview(self, obj: SamplingPlan | None) -> str:
        if obj is None or obj.pk is None or obj.draw_or_none is not None:
            return "—"
        preview = sampling_plan_preview(plan=obj)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((s.name, _division_code(s.code), s.candidates, s.sample) for s in preview.strata),
        )
        excluded = "，".join(f"{EXCLUSION_NAMES.get(k, k)} {v}" for k, v in preview.excluded.items())
        staffing = self._staffing_table(preview)
        return format_html(
            "<p>{}: <b>{}</b>; {}: <b>{}</b>; {}: {}</p><p>{}</p>{}"
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>{}",
            _("candidates"),
            preview.candidate_count,
            _("sample"),
            preview.sample_size,
            _("excluded"),
            excluded,
            _(
                "Weighted up by their cases: %(open)d candidates with an open case, "
                "%(overdue)d of them with an overdue one."
            )
            % {"open": preview.with_open_cases, "overdue": preview.with_overdue_cases},
            self._key_note(preview),
            _("stratum"),
            _("code"),
            _("candidates"),
            _("expected sample"),
            rows,
            staffing,
        )

    def _key_note(self, preview: Any) -> str:
        """Why the key stratum's villages are key, and the refusal if any."""
        problem = format_html('<p class="errornote">{}</p>', preview.problem) if preview.problem else ""
        if not preview.key_reasons:
            return problem
        reasons = preview.key_reasons
        return format_html(
            "<p>{}</p>{}",
            _(
                "Key villages (重点村): %(water)d with a listed black and odorous water body, %(listed)d on "
                "the jurisdiction's list, %(open)d with a problem not closed, %(named)d named by the plan "
                "(a village may count more than once)."
            )
            % {
                "water": reasons.get("black_odorous_water", 0),
                "listed": reasons.get("listed", 0),
                "open": reasons.get("open_problems", 0),
                "named": reasons.get("named", 0),
            },
            problem,
        )

    def _staffing_table(self, preview: Any) -> str:
        """Team places needed against the roster that may go after recusal, per stratum."""
        if not preview.staffing:
            return ""
        names = {s.code: s.name for s in preview.strata}
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    names.get(r.stratum, r.stratum or "—"),
                    r.villages,
                    r.slots,
                    r.inspectors,
                    r.capacity,
                    _("short by %(n)d") % {"n": r.shortfall} if r.shortfall else "✓",
                )
                for r in preview.staffing
            ),
        )
        return format_html(
            "<h3>{}</h3><p>{}</p><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "<th>{}</th></tr>{}</table>",
            _("Staffing after recusal"),
            _("In all %(slots)d team places; the roster has %(capacity)d.")
            % {"slots": preview.slots, "capacity": preview.roster_capacity},
            _("stratum"),
            _("villages"),
            _("team places"),
            _("inspectors without a conflict"),
            _("their places"),
            _("staffing"),
            rows,
        )

    @admin.display(description=_("draw"))
    def draw_summary(self, obj: SamplingPlan | None) -> str:
        draw = obj.draw_or_none if obj is not None and obj.pk else None
        if draw is None:
            return "—"
        items = [
            (_("status"), draw.get_status_display()),  # type: ignore[attr-defined]
            (_("committed at"), display(draw.committed_at)),
            (_("candidates"), draw.candidate_count),
            (_("candidate list SHA-256"), draw.candidates_sha256),
            (_("roster SHA-256"), draw.roster_sha256),
            (_("seed commitment (SHA-256 of the seed)"), draw.seed_commitment),
            (_("public beacon"), f"{draw.beacon} ({draw.beacon_source})" if draw.beacon else "—"),
            (_("drawn at"), display(draw.drawn_at)),
            (_("result SHA-256"), draw.result_sha256 or "—"),
            (_("published at"), display(draw.published_at)),
            (_("revealed seed"), draw.revealed_seed or "—"),
        ]
        if draw.voided_at is not None:
            items += [
                (_("voided at"), display(draw.voided_at)),
                (_("reason for voiding"), draw.void_reason),
            ]
        return format_html(
            "<table>{}</table>", format_html_join("", "<tr><th>{}</th><td><code>{}</code></td></tr>", items)
        )

    @admin.display(description=_("assignments"))
    def assignments_table(self, obj: SamplingPlan | None) -> str:
        draw = obj.draw_or_none if obj is not None and obj.pk else None
        if obj is None or draw is None or draw.drawn_at is None:
            return "—"
        assignments = list(
            draw.assignments.select_related("inspection__village")
            .select_related("cancellation__actor")
            .prefetch_related("inspection__team__user", "reassignments__actor")
            .order_by("stratum", "rank")
        )
        names = stratum_names(plan=obj, strata={a.stratum for a in assignments})
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            '<td><a href="{}">{}</a> · <a href="{}">{}</a></td></tr>',
            (
                (
                    names.get(a.stratum, a.stratum),
                    a.rank,
                    a.inspection.village,
                    ", ".join(str(m) for m in a.inspection.team.all()),
                    a.inspection.get_status_display(),
                    "; ".join(f"{display(r.at)} {r.actor}: {r.reason}" for r in a.reassignments.all()) or "—",
                    _cancellation_text(a),
                    reverse("admin:inspections_samplingplan_reassign", args=[a.pk]),
                    _("reassign…"),
                    reverse("admin:inspections_samplingplan_cancel_visit", args=[a.pk]),
                    _("cancel…"),
                )
                for a in assignments
            ),
        )
        return format_html(
            "<table><tr><th>{}</th><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>"
            "{}</table>",
            _("stratum"),
            _("village"),
            _("team"),
            _("status"),
            _("reassignments"),
            _("cancellation"),
            rows,
        )

    # --- Workflow pages ------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/commit/",
                self.admin_site.admin_view(self.commit_view),
                name="inspections_samplingplan_commit",
            ),
            path(
                "<path:object_id>/beacon/",
                self.admin_site.admin_view(self.beacon_view),
                name="inspections_samplingplan_beacon",
            ),
            path(
                "<path:object_id>/draw/",
                self.admin_site.admin_view(self.draw_view),
                name="inspections_samplingplan_draw",
            ),
            path(
                "<path:object_id>/void/",
                self.admin_site.admin_view(self.void_view),
                name="inspections_samplingplan_void",
            ),
            path(
                "<path:object_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="inspections_samplingplan_publish",
            ),
            path(
                "<path:object_id>/results/",
                self.admin_site.admin_view(self.results_view),
                name="inspections_samplingplan_results",
            ),
            path(
                "coverage/",
                self.admin_site.admin_view(self.coverage_view),
                name="inspections_samplingplan_coverage",
            ),
            path(
                "assignment/<int:assignment_id>/reassign/",
                self.admin_site.admin_view(self.reassign_view),
                name="inspections_samplingplan_reassign",
            ),
            path(
                "assignment/<int:assignment_id>/cancel/",
                self.admin_site.admin_view(self.cancel_visit_view),
                name="inspections_samplingplan_cancel_visit",
            ),
        ]
        return own + super().get_urls()

    def coverage_view(self, request: HttpRequest) -> HttpResponse:
        """This year's coverage of the reader's jurisdiction: townships and villages visited, by mode."""
        prefix = request_prefix(request)
        if prefix is None or not self.has_view_permission(request):
            raise Http404
        this_year = local_date(timezone.now()).year
        try:
            year = int(request.GET.get("year", this_year))
        except ValueError:
            year = this_year
        if not 2000 <= year <= 2100:
            year = this_year
        # A drill-down into an area of the reader's jurisdiction (a county of a prefecture, …).
        area = request.GET.get("area", "")
        if area.isdigit() and len(area) in (2, 4, 6, 9) and area.startswith(prefix):
            prefix = area
        report = coverage_report(prefix=prefix, year=year)
        labels = dict(Inspection.Mode.choices)
        modes = [(m, labels.get(m, m), n) for m, n in sorted(report.by_mode.items())]
        townships = [
            {
                "code": row.code,
                "name": row.name,
                "villages": row.villages,
                "visited": row.visited,
                "counts": [row.by_mode.get(m, 0) for m, _label, _n in modes],
                "visited_villages": row.visited_villages,
            }
            for row in report.townships
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Coverage of %(year)d") % {"year": year},
            "report": report,
            "modes": modes,
            "townships": townships,
        }
        return TemplateResponse(request, "admin/inspections/samplingplan/coverage.html", context)

    def _plan_or_404(self, request: HttpRequest, object_id: str) -> SamplingPlan:
        plan = self.get_object(request, unquote(object_id))
        if plan is None or not self.has_view_permission(request, plan):
            raise Http404
        return plan

    def _action_page(
        self, request: HttpRequest, plan: SamplingPlan, title: Any, text: Any, form: forms.Form | None = None
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": plan,
            "title": title,
            "text": text,
            "form": form,
        }
        return TemplateResponse(request, "admin/inspections/samplingplan/action.html", context)

    def _run(self, request: HttpRequest, plan: SamplingPlan, action: Any, done: Any) -> HttpResponseRedirect:
        try:
            action()
        except DomainError as refusal:
            message_refusal(self, request, refusal)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:inspections_samplingplan_change", args=[plan.pk]))

    def commit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        plan = self._plan_or_404(request, object_id)
        if request.method == "POST" and self.has_change_permission(request, plan):
            return self._run(
                request,
                plan,
                lambda: sampling_plan_commit(plan=plan, user=request.user),  # type: ignore[arg-type]
                _("Committed: the candidates are frozen and the seed commitment is published."),
            )
        return self._action_page(
            request,
            plan,
            _("Commit %(plan)s") % {"plan": plan},
            format_html(
                "<p>{}</p>{}",
                _(
                    "Committing freezes the parameters, the candidate list and the roster, and publishes "
                    "SHA-256 of a new secret seed. Nothing can be changed afterwards."
                ),
                self.preview(plan),
            ),
        )

    def beacon_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        plan = self._plan_or_404(request, object_id)
        form = BeaconForm(request.POST or None)
        if request.method == "POST" and form.is_valid() and self.has_change_permission(request, plan):
            return self._run(
                request,
                plan,
                lambda: sampling_plan_enter_beacon(
                    plan=plan,
                    user=request.user,  # type: ignore[arg-type]
                    value=form.cleaned_data["value"],
                    source=form.cleaned_data["source"],
                ),
                _("The beacon is entered; the draw will mix it into the seed."),
            )
        return self._action_page(
            request,
            plan,
            _("Public beacon for %(plan)s") % {"plan": plan},
            _(
                "A public value that became known only after the commit (e.g. a lottery result), "
                "so that nobody could steer the draw by choosing the secret seed."
            ),
            form,
        )

    def draw_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        plan = self._plan_or_404(request, object_id)
        if request.method == "POST" and self.has_change_permission(request, plan):
            return self._run(
                request,
                plan,
                lambda: sampling_plan_draw(plan=plan, user=request.user),  # type: ignore[arg-type]
                _("Drawn: each village is now an inspection with its team."),
            )
        return self._action_page(
            request,
            plan,
            _("Draw %(plan)s") % {"plan": plan},
            _(
                "The draw runs once, from the frozen candidates and the seed "
                "(mixed with the beacon if entered)."
            ),
        )

    def void_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        plan = self._plan_or_404(request, object_id)
        form = VoidForm(request.POST or None)
        if request.method == "POST" and form.is_valid() and self.has_change_permission(request, plan):
            return self._run(
                request,
                plan,
                lambda: draw_void(
                    plan=plan,
                    user=request.user,  # type: ignore[arg-type]
                    reason=form.cleaned_data["reason"],
                ),
                _("Voided: the reason and the seed are on the public record. Make a new plan."),
            )
        return self._action_page(
            request,
            plan,
            _("Void the draw of %(plan)s") % {"plan": plan},
            _(
                "Only a committed draw that cannot be drawn (some drawn village has no team, or the window "
                "has ended) can be voided. The reason you give and the seed become public, so anyone can "
                "re-run the draw and see that it fails."
            ),
            form,
        )

    def publish_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        plan = self._plan_or_404(request, object_id)
        draw = plan.draw_or_none
        if request.method == "POST" and draw is not None and self.has_change_permission(request, plan):
            return self._run(
                request,
                plan,
                lambda: draw_publish(draw=draw),
                _("Published: the seed is revealed and the public record is online."),
            )
        return self._action_page(
            request,
            plan,
            _("Publish %(plan)s") % {"plan": plan},
            _(
                "Publication reveals the seed and the whole draw. It is possible only once every inspection "
                "of the draw is submitted or cancelled."
            ),
        )

    def results_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Create the plan's results publication (一公开), or open the one it has."""
        plan = self._plan_or_404(request, object_id)
        draw = plan.draw_or_none
        existing = draw.publications.first() if draw is not None else None
        if existing is not None:
            return HttpResponseRedirect(reverse("admin:inspections_publication_change", args=[existing.pk]))
        if request.method == "POST" and draw is not None and self.has_change_permission(request, plan):
            try:
                publication = publication_create_for_draw(draw=draw)
            except DomainError as refusal:
                message_refusal(self, request, refusal)
                return HttpResponseRedirect(reverse("admin:inspections_samplingplan_change", args=[plan.pk]))
            self.message_user(
                request,
                _("The results publication is created; publish it once every visit is submitted."),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse("admin:inspections_publication_change", args=[publication.pk])
            )
        return self._action_page(
            request,
            plan,
            _("Results publication of %(plan)s") % {"plan": plan},
            _(
                "Creates the publication of this draw's results with its inspections and organisers, "
                "due a number of working days after the window closes. Publishing it reveals the "
                "draw's seed and puts the draw's public record online."
            ),
        )

    def reassign_view(self, request: HttpRequest, assignment_id: int) -> HttpResponse:
        """Change a drawn visit's team: each inspector offered with their load, capacity and recusal.

        The page judges by the service's own rule (:func:`reassignment_checks`); a refusal keeps
        what was typed, with the reason why beside the form.
        """
        assignment = (
            Assignment.objects.select_related("draw__plan__scope", "inspection__village__township")
            .filter(pk=assignment_id)
            .first()
        )
        if assignment is None or not self.get_queryset(request).filter(pk=assignment.draw.plan_id).exists():
            raise Http404
        plan = assignment.draw.plan
        offered = reassignment_offer(assignment=assignment)
        checks = {c.inspector.pk: c for c in reassignment_checks(assignment=assignment, inspectors=offered)}
        current = set(assignment.inspection.team.values_list("pk", flat=True))
        team = [c for c in checks.values() if c.inspector.pk in current]
        form = ReassignForm(request.POST or None, initial={"team": [c.inspector.pk for c in team]})
        team_field = form.fields["team"]
        team_field.queryset = offered  # type: ignore[attr-defined]
        team_field.label_from_instance = lambda i: _candidate_label(i, checks.get(i.pk))  # type: ignore[attr-defined]
        embargo_reads_record(
            user=request.user,
            action="admin:assignment:reassign",
            path=request.path,
            inspections=[assignment.inspection],
        )
        if request.method == "POST" and form.is_valid() and self.has_change_permission(request, plan):
            try:
                assignment_reassign(
                    assignment=assignment,
                    user=request.user,  # type: ignore[arg-type]
                    team=list(form.cleaned_data["team"]),
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as refusal:
                message_refusal(self, request, refusal)
                form.add_error(None, refusal.detail)
            else:
                self.message_user(
                    request,
                    _("The team is changed and the change is logged for the public record."),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:inspections_samplingplan_change", args=[plan.pk]))
        return self._action_page(
            request,
            plan,
            _("Reassign %(village)s") % {"village": assignment.inspection.village},
            format_html(
                "<p>{}</p>{}",
                _(
                    "A manual change needs a written reason; "
                    "it is logged (who, when, before, after) and published."
                ),
                _visit_table(assignment, team),
            ),
            form,
        )

    def cancel_visit_view(self, request: HttpRequest, assignment_id: int) -> HttpResponse:
        """Cancel a drawn visit that cannot happen (a flooded road), with a written reason."""
        assignment = (
            Assignment.objects.select_related("draw__plan", "inspection__village")
            .filter(pk=assignment_id)
            .first()
        )
        if assignment is None or not self.get_queryset(request).filter(pk=assignment.draw.plan_id).exists():
            raise Http404
        plan = assignment.draw.plan
        form = CancelVisitForm(request.POST or None)
        embargo_reads_record(
            user=request.user,
            action="admin:assignment:cancel",
            path=request.path,
            inspections=[assignment.inspection],
        )
        if request.method == "POST" and form.is_valid() and self.has_change_permission(request, plan):
            return self._run(
                request,
                plan,
                lambda: assignment_cancel(
                    assignment=assignment,
                    user=request.user,  # type: ignore[arg-type]
                    reason=form.cleaned_data["reason"],
                ),
                _(
                    "The visit is cancelled; the cancellation is logged and listed on the public "
                    "record once the results are published."
                ),
            )
        return self._action_page(
            request,
            plan,
            _("Cancel the visit to %(village)s") % {"village": assignment.inspection.village},
            _(
                "For a visit that cannot happen (a flooded road): it needs a written reason, logged "
                "(who, when, why) and shown on the draw's public record and with the results, which "
                "are then published without it."
            ),
            form,
        )


RECUSAL_LABELS = {
    "inactive": _("inactive"),
    "home": _("recused: home county"),
    "conflict": _("recused: a declared conflict"),
    "previous": _("recused: on the village's previous team"),
}


def _load_text(check: ReassignmentCheck) -> str:
    """The inspector's other visits in this draw against their frozen capacity."""
    if check.capacity is None:
        return str(
            _("other visits in this draw: %(load)d (not on its roster, no frozen capacity)")
            % {"load": check.load}
        )
    return str(
        _("other visits in this draw: %(load)d of %(capacity)d")
        % {"load": check.load, "capacity": check.capacity}
    )


def _recusal_text(check: ReassignmentCheck) -> str:
    if check.recusal is not None:
        return str(RECUSAL_LABELS[check.recusal])
    return str(_("at full capacity")) if check.full else str(_("no conflict"))


def _candidate_label(inspector: Inspector, check: ReassignmentCheck | None) -> str:
    """An offered inspector as the reassign form lists them: who, their load, their recusal."""
    if check is None:  # left the pool since the page was read
        return str(inspector)
    return f"{inspector} · {_load_text(check)} · {_recusal_text(check)}"


def _visit_table(assignment: Assignment, team: list[ReassignmentCheck]) -> str:
    """The visit being reassigned: where, which stratum, when, and its team as it stands."""
    inspection = assignment.inspection
    stratum = stratum_names(plan=assignment.draw.plan, strata=[assignment.stratum])[assignment.stratum]
    rows = [
        (_("village"), f"{inspection.village.name} ({inspection.village.township.name})"),
        (_("stratum"), f"{stratum} #{assignment.rank}"),
        (_("visit window"), f"{display(inspection.window_start)} – {display(inspection.window_end)}"),
        (_("status"), inspection.get_status_display()),  # type: ignore[attr-defined]
    ]
    members = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((c.inspector, _load_text(c), _recusal_text(c)) for c in team),
    )
    return format_html(
        "<table>{}</table><h3>{}</h3><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
        format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        _("Current team"),
        _("inspector"),
        _("load and capacity"),
        _("recusal"),
        members,
    )


def _cancellation_text(assignment: Assignment) -> str:
    cancellation = getattr(assignment, "cancellation", None)
    if cancellation is None:
        return "—"
    return f"{display(cancellation.at)} {cancellation.actor}: {cancellation.reason}"


class EmbargoReadFilter(admin.SimpleListFilter):
    """The kinds of read by name, not by the code the log keeps."""

    title = _("what")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(EMBARGO_READ_NAMES.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(action=value) if value else queryset


@admin.register(EmbargoAccessLog)
class EmbargoAccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Who read embargoed plans and inspections, for their organisers to review."""

    list_display = ["at", "user", "what", "plan", "inspection", "path"]
    list_filter = [EmbargoReadFilter]
    list_select_related = ["user", "plan", "inspection__village"]
    date_hierarchy = "at"

    @admin.display(description=_("what"), ordering="action")
    def what(self, read: EmbargoAccessLog) -> str:
        return read.action_name

    def get_queryset(self, request: HttpRequest) -> QuerySet[EmbargoAccessLog]:
        queryset = super().get_queryset(request)
        user = request.user
        if not user.is_authenticated or not user.is_active:
            return queryset.none()
        if user.is_superuser:
            return queryset
        organises_plan = Exists(
            SamplingPlan.organisers.through.objects.filter(
                samplingplan_id=OuterRef("plan_id"), user_id=user.pk
            )
        )
        organises_inspection = Exists(
            Inspection.organisers.through.objects.filter(
                inspection_id=OuterRef("inspection_id"), user_id=user.pk
            )
        )
        return queryset.filter(Q(organises_plan) | Q(organises_inspection))


class TargetedVisitForm(forms.Form):
    mode = forms.ChoiceField(label=_("mode"), choices=[(m.value, m.label) for m in TargetedVisit.MODES])
    village_codes = forms.CharField(
        label=_("villages"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("12-digit codes of one village or a list, separated by spaces, commas or new lines."),
    )
    basis = forms.CharField(
        label=_("basis"),
        max_length=300,
        required=False,
        help_text=_("What the visit answers: a complaint's ticket, a 交办 number, a campaign."),
    )
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

    def codes(self) -> list[str]:
        return [c for c in re.split(r"[\s,，、;；]+", self.cleaned_data["village_codes"]) if c]


@admin.register(TargetedVisit)
class TargetedVisitAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Targeted visits: ordered here, embargoed like drawn visits; only whoever ordered one sees it."""

    list_display = ["__str__", "mode", "basis", "window_start", "team_choice", "ordered_at"]
    list_filter = ["mode", "team_choice"]
    list_select_related = ["ordered_by"]
    RECORD = (
        "mode",
        "basis",
        "window_start",
        "window_end",
        "team_size",
        "team_choice",
        "named_reason",
        "result",
        "roster_sha256",
        "seed_commitment",
        "ordered_by",
        "ordered_at",
        "visits",
    )
    fields = RECORD
    readonly_fields = RECORD

    def get_queryset(self, request: HttpRequest) -> QuerySet[TargetedVisit]:
        queryset = super().get_queryset(request)
        user = request.user
        if not user.is_authenticated or not user.is_active:
            return queryset.none()
        if user.is_superuser:
            return queryset
        return queryset.filter(ordered_by_id=user.pk)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("inspections"))
    def visits(self, obj: TargetedVisit) -> str:
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:inspections_inspection_change", args=[i.pk]), i.village)
                for i in obj.inspections.select_related("village")
            ),
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        order = self.get_object(request, unquote(object_id))
        if order is not None:
            embargo_reads_record(
                user=request.user,
                action="admin targeted visit",
                path=request.path,
                inspections=order.inspections.all(),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise Http404
        form = TargetedVisitForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                order = targeted_visit_order(
                    user=request.user,  # type: ignore[arg-type]
                    mode=data["mode"],
                    village_codes=form.codes(),
                    window_start=data["window_start"],
                    window_end=data["window_end"],
                    team_size=data["team_size"],
                    basis=data["basis"],
                    named_team=list(data["named_team"]) or None,
                    named_reason=data["named_reason"],
                )
            except DomainError as refusal:
                message_refusal(self, request, refusal)
            else:
                self.message_user(
                    request, _("Ordered: each village is an embargoed inspection."), messages.SUCCESS
                )
                return HttpResponseRedirect(
                    reverse("admin:inspections_targetedvisit_change", args=[order.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Order a targeted visit"),
            "form": form,
        }
        return TemplateResponse(request, "admin/inspections/targetedvisit/add.html", context)


@admin.register(KeyVillage)
class KeyVillageAdmin(VillageSearchAdmin, JurisdictionScopedAdmin):
    """The jurisdiction's key villages (重点村): listed black and odorous water bodies, or named."""

    scope_code_field = "village__code"
    list_display = ["village", "reason", "note", "added_by", "added_at"]
    list_filter = ["reason"]
    list_select_related = ["village", "added_by"]
    search_fields = ["village", "note"]  # the village by name or code (VillageSearchAdmin), the note
    autocomplete_fields = ["village"]
    fields = ["village", "reason", "note"]

    def save_model(self, request: HttpRequest, obj: KeyVillage, form: Any, change: bool) -> None:
        if not change:
            obj.added_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
