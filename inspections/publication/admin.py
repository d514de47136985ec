"""Results publications in the admin: scoped lists, the draw behind them, and publishing.

The due date is never computed here: saving a publication asks
:func:`inspections.publication.services.publication_due`, the one rule.
Refusals of the services are shown as messages in the reader's language.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from inspections.accounts.models import User
from inspections.common.china_time import local_date
from inspections.common.errors import DomainError
from inspections.fieldwork.models import Inspection
from inspections.fieldwork.selectors import inspection_list
from inspections.publication import services as publication_services
from inspections.publication.models import Publication
from inspections.sampling.selectors import organiser_choices
from inspections.sampling.services import embargo_reads_record


class PublicationForm(forms.ModelForm):  # type: ignore[type-arg]
    # Set by PublicationAdmin.get_form: the organisers its picker does not offer the editor.
    organisers_kept: list[User] = []

    class Meta:
        model = Publication
        fields = ["title_zh_hans", "title_en", "summary_zh_hans", "summary_en", "inspections", "organisers"]

    def clean(self) -> dict[str, Any]:
        """Every organiser must see each chosen inspection that is still to be visited.

        So that an unpublished publication never shows one of its organisers a
        visit they may not know of (through its due date or a refusal to
        publish). Judged on the inspections the editor may choose: the others
        are not theirs to name.
        """
        cleaned: dict[str, Any] = super().clean() or {}
        if self.instance.published_at is not None:
            return cleaned
        pending = [i.pk for i in cleaned.get("inspections") or [] if i.status != Inspection.Status.SUBMITTED]
        if not pending:
            return cleaned
        organisers = list(cleaned.get("organisers") or []) + list(self.organisers_kept)
        blind = [
            str(o)
            for o in organisers
            if inspection_list(user=o).filter(pk__in=pending).count() != len(pending)
        ]
        if blind:
            self.add_error(
                "organisers",
                _("%(who)s may not see every chosen inspection that is still to be visited.")
                % {"who": ", ".join(blind)},
            )
        return cleaned


class OverdueFilter(admin.SimpleListFilter):
    """Results past their due day and not published: the ones to chase (or to cancel visits of)."""

    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("overdue")), ("no", _("not overdue"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Publication]) -> QuerySet[Publication]:
        late = Q(published_at__isnull=True, due_on__lt=local_date(timezone.now()))
        if self.value() == "yes":
            return queryset.filter(late)
        if self.value() == "no":
            return queryset.exclude(late)
        return queryset


@admin.register(Publication)
class PublicationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = PublicationForm
    list_display = ["title_zh_hans", "windows_closed_on", "due_badge", "overdue_flagged_at", "published_at"]
    list_filter = [OverdueFilter, ("published_at", admin.EmptyFieldListFilter)]
    # A prefecture has tens of thousands of inspections: they are searched, never all listed.
    autocomplete_fields = ["inspections"]
    filter_horizontal = ["organisers"]
    readonly_fields = [
        "windows_closed_on",
        "due_on",
        "due_warning",
        "warned_at",
        "overdue_flagged_at",
        "published_at",
        "published_by",
        "draw_record",
    ]
    exclude = ["draw"]  # set from the plan's page (SamplingPlanAdmin), shown by draw_record
    actions = ["action_publish"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Publication]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        if not isinstance(request.user, User) or not request.user.is_active:
            return queryset.none()
        # An unpublished publication is its organisers' alone: it names a plan and visits that
        # may still be ahead. Once published, a supervisor also sees those of inspections they may see.
        visible = inspection_list(user=request.user).values("pk")
        published = Q(published_at__isnull=False, inspections__in=visible)
        return queryset.filter(Q(organisers=request.user) | published).distinct()

    def _organises(self, request: HttpRequest, publication: Publication | None) -> bool:
        if publication is None or request.user.is_superuser:
            return True
        if not isinstance(request.user, User):
            return False
        return publication.organisers.filter(pk=request.user.pk).exists()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Only its organisers change a publication; others may only read a published one."""
        return super().has_change_permission(request, obj) and self._organises(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._organises(request, obj)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # A drawn plan's publication exists before its visits: reading it reads embargoed inspections.
        publication = self.get_object(request, unquote(object_id))
        if publication is not None and publication.published_at is None:
            embargo_reads_record(
                user=request.user,
                action="admin:publication:view",
                path=request.path,
                inspections=publication.inspections.exclude(status=Inspection.Status.SUBMITTED).only(
                    "id", "status"
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "inspections" and isinstance(request.user, User):
            kwargs["queryset"] = inspection_list(user=request.user).select_related("village")
        if db_field.name == "organisers" and isinstance(request.user, User):
            # Scoped like a plan's organisers (never every account in the system).
            kwargs["queryset"] = organiser_choices(user=request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _out_of_sight(self, request: HttpRequest, publication: Publication | None) -> list[Inspection]:
        """The publication's inspections ``request.user`` may not see.

        The form offers only the inspections the user may see, so it cannot
        show these; saving the form keeps them (an organiser from another
        county put them there).
        """
        if publication is None or publication.pk is None or not isinstance(request.user, User):
            return []
        visible = inspection_list(user=request.user).values("pk")
        return list(publication.inspections.exclude(pk__in=visible))

    def _organisers_out_of_picker(self, request: HttpRequest, publication: Publication | None) -> list[User]:
        """The publication's organisers the picker does not offer ``request.user``: saving keeps them."""
        if publication is None or publication.pk is None or not isinstance(request.user, User):
            return []
        offered = organiser_choices(user=request.user).values("pk")
        return list(publication.organisers.exclude(pk__in=offered))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        # Submitted ones only: an inspection still to be visited is nobody's to count here but
        # its own readers' (and the organisers all see those: PublicationForm.clean).
        hidden = sum(1 for i in self._out_of_sight(request, obj) if i.status == Inspection.Status.SUBMITTED)
        if hidden and "inspections" in form.base_fields:
            form.base_fields["inspections"].help_text = ngettext(
                "%(count)d more inspection, outside what you may see, stays in these results.",
                "%(count)d more inspections, outside what you may see, stay in these results.",
                hidden,
            ) % {"count": hidden}
        form.organisers_kept = self._organisers_out_of_picker(request, obj)  # type: ignore[attr-defined]
        return form

    def save_model(self, request: HttpRequest, obj: Publication, form: Any, change: bool) -> None:
        # Read before the form's inspections and organisers replace the stored ones (in save_related).
        form.inspections_out_of_sight = self._out_of_sight(request, obj) if change else []
        form.organisers_out_of_picker = self._organisers_out_of_picker(request, obj) if change else []
        inspections = list(form.cleaned_data.get("inspections") or []) + form.inspections_out_of_sight
        if inspections and obj.published_at is None:
            due = publication_services.publication_due(inspections=inspections)
            obj.windows_closed_on, obj.due_on, obj.due_warning = (
                due.windows_closed_on,
                due.due_on,
                due.warning,
            )
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        hidden = getattr(form, "inspections_out_of_sight", [])
        if hidden:
            form.instance.inspections.add(*hidden)
        kept = list(getattr(form, "organisers_out_of_picker", []))
        if not change:
            kept.append(request.user)  # whoever creates it sees it: it is its organisers' alone
        if kept:
            form.instance.organisers.add(*kept)

    @admin.display(description=_("draw"))
    def draw_record(self, publication: Publication) -> Any:
        """The plan behind the results and, once published, the revealed seed and the public record."""
        draw = publication.draw
        if draw is None:
            return "—"
        plan = format_html(
            '<a href="{}">{}</a>',
            reverse("admin:inspections_samplingplan_change", args=[draw.plan_id]),
            draw.plan,
        )
        if draw.published_at is None:
            return format_html("{} · {}", plan, _("the seed is revealed when these results are published"))
        return format_html(
            '{} · {}: <code>{}</code> · <a href="{}">{}</a>',
            plan,
            _("revealed seed"),
            draw.revealed_seed,
            reverse("public-draw", args=[draw.pk]),
            _("public record"),
        )

    @admin.display(description=_("publish by"), ordering="due_on")
    def due_badge(self, publication: Publication) -> Any:
        # 暂定: counted on a year whose holiday notice is not entered yet; recounted when it is.
        provisional = format_html(" ({})", _("provisional")) if publication.due_is_provisional else ""
        if publication.is_overdue(local_date(timezone.now())):
            return format_html(
                '<span style="color:#ba2121">{} {}</span>{}', publication.due_on, _("overdue"), provisional
            )
        return format_html("{}{}", publication.due_on, provisional)

    @admin.action(description=_("Publish results (reveals the draw's seed)"), permissions=["change"])
    def action_publish(self, request: HttpRequest, queryset: QuerySet[Publication]) -> None:
        assert isinstance(request.user, User)
        if not request.user.is_superuser:
            queryset = queryset.filter(organisers=request.user)  # its organisers publish it
        for publication in queryset:
            try:
                publication_services.publication_publish(publication=publication, actor=request.user)
            except DomainError as refusal:
                # Several publications at once: say which one was refused, in the reader's language.
                self.message_user(
                    request,
                    _("%(title)s: %(reason)s") % {"title": publication, "reason": refusal.detail},
                    level=messages.ERROR,
                )
            else:
                self.message_user(
                    request, _("Published: %(title)s") % {"title": publication}, messages.SUCCESS
                )
