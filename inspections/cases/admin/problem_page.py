"""A problem's page: the finding's photos beside the rectification after-photos, each with the
flags its reader may be told of, and as buttons the decisions its status allows (each posting a
note to the problem's own URL, which calls the list action's service). The one admin of cases.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.cases.admin.decisions import DECISIONS, DecisionForm, decision_take, decisions_offered
from inspections.cases.admin.evidence import ProblemEvidence
from inspections.cases.admin.problem_list import ProblemListAdmin
from inspections.cases.models import (
    Case,
)
from inspections.common.admin import message_refusal
from inspections.common.china_time import display
from inspections.common.errors import DomainError


@admin.register(Case)
class CaseAdmin(ProblemListAdmin):
    """The problem page with its evidence (the finding's photos beside the after-photos) and its decisions."""

    change_form_template = "admin/inspections/case/problem_page.html"

    class Media:
        css = {"all": ["inspections/evidence.css"]}

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:object_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="inspections_case_decide",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = dict(extra_context or {})
        case = self.get_object(request, unquote(object_id))
        if case is not None and isinstance(request.user, User):
            context["problem_page"] = self.problem_page_context(request, case)
        return super().change_view(request, object_id, form_url, context)

    def problem_page_context(self, request: HttpRequest, case: Case) -> dict[str, Any]:
        reader = request.user
        assert isinstance(reader, User)
        evidence = ProblemEvidence(case, reader)
        before, before_missing = evidence.before()
        rectifications = []
        for rectification in evidence.rectifications:
            figures, missing = evidence.after(rectification)
            rectifications.append(
                {
                    "submitted_at": display(rectification.created_at),
                    "description": rectification.description,
                    "figures": figures,
                    "missing": missing,
                }
            )
        may_decide = self.has_change_permission(request, case)
        return {
            "finding_photos": before,
            "finding_missing": before_missing,
            "no_finding_photos": _("The finding has no photo."),
            "no_after_photos": _("This rectification has no after-photo."),
            "rectifications": rectifications,
            "decisions": decisions_offered(case, reader, evidence) if may_decide else [],
            "decide_url": reverse("admin:inspections_case_decide", args=[case.pk]),
        }

    def decide_view(self, request: HttpRequest, object_id: int) -> HttpResponseBase:
        """Take one decision on the problem (POST only), then back to its page with a message.

        404 for a problem outside the reader's list (their jurisdiction), 403
        without the change permission; a decision the problem's status does
        not allow, or a service's refusal, is a message on the page.
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        case = self.get_object(request, str(object_id))
        if case is None:
            raise Http404
        reader = request.user
        if not isinstance(reader, User) or not self.has_change_permission(request, case):
            raise PermissionDenied
        page = redirect("admin:inspections_case_change", case.pk)
        form = DecisionForm(request.POST)
        if not form.is_valid():
            self.message_user(request, _("The decision could not be read; nothing was done."), messages.ERROR)
            return page
        name = form.cleaned_data["decision"]
        offered = {d.name for d in decisions_offered(case, reader, ProblemEvidence(case, reader))}
        if name not in offered:
            self.message_user(
                request, _("This decision is not open to you on this problem now."), messages.ERROR
            )
            return page
        try:
            decision_take(
                case,
                reader,
                name,
                note=form.cleaned_data["note"] or "",
                merge_into=form.cleaned_data["merge_into"],
            )
        except DomainError as refusal:
            message_refusal(self, request, refusal)
            return page
        self.message_user(
            request, gettext("Done: %(decision)s.") % {"decision": DECISIONS[name].label}, messages.SUCCESS
        )
        return page
