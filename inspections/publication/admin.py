"""Results publications in the admin: scoped lists, the draw behind them, and publishing.

The due date is never computed here: saving a publication asks
:func:`inspections.publication.services.publication_due`, the one rule.
Refusals of the services are shown as messages in the reader's language.
"""

from __future__ import annotations

from typing import Any

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
from inspections.sampling.services import embargo_reads_record


@admin.register(Publication)
class PublicationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["title_zh_hans", "windows_closed_on", "due_badge", "published_at"]
    list_filter = [("published_at", admin.EmptyFieldListFilter)]
    filter_horizontal = ["inspections", "organisers"]
    readonly_fields = [
        "windows_closed_on",
        "due_on",
        "due_warning",
        "warned_at",
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
        assert isinstance(request.user, User)
        # Organisers see their publications; a supervisor those whose inspections they may see.
        visible = inspection_list(user=request.user).values("pk")
        return queryset.filter(Q(organisers=request.user) | Q(inspections__in=visible)).distinct()

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

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        hidden = len(self._out_of_sight(request, obj))
        if hidden and "inspections" in form.base_fields:
            form.base_fields["inspections"].help_text = ngettext(
                "%(count)d more inspection, outside what you may see, stays in these results.",
                "%(count)d more inspections, outside what you may see, stay in these results.",
                hidden,
            ) % {"count": hidden}
        return form

    def save_model(self, request: HttpRequest, obj: Publication, form: Any, change: bool) -> None:
        # Read before the form's inspections replace the stored ones (in save_related).
        form.inspections_out_of_sight = self._out_of_sight(request, obj) if change else []
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
        if publication.is_overdue(local_date(timezone.now())):
            return format_html('<span style="color:#ba2121">{} {}</span>', publication.due_on, _("overdue"))
        return publication.due_on

    @admin.action(description=_("Publish results (reveals the draw's seed)"), permissions=["change"])
    def action_publish(self, request: HttpRequest, queryset: QuerySet[Publication]) -> None:
        assert isinstance(request.user, User)
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
