"""The admin site: Django's, with two rules added to every model admin registered on it.

Django's history page looks the object up before it checks the reader's
permission, so for a model the reader may not view it answers 403 when the id
exists and "does not exist" when it does not: an oracle for any row, a drawn
follow-up visit's included. Every admin registered here checks the permission
first (the change and delete pages already do), whichever app registers it.

And every list pages from both ends (:mod:`inspections.common.paginator`): the
last page of two million inspections costs what the first does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from inspections.common.paginator import BothEndsPaginator


class PermissionBeforeLookup:
    """Refuse a model's history pages to a reader without view or change permission, before any lookup."""

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]


class PagesFromBothEnds:
    """A list's pages in the back half are read backwards (:class:`BothEndsPaginator`).

    Not for a list edited in place (``list_editable``), whose page must stay a
    queryset for its formset, nor for an admin that chose its own paginator.
    """

    def get_paginator(self, request: HttpRequest, queryset: Any, per_page: int, **options: Any) -> Paginator:
        if self.list_editable or self.paginator is not Paginator:  # type: ignore[attr-defined]
            return super().get_paginator(request, queryset, per_page, **options)  # type: ignore[misc, no-any-return]
        return BothEndsPaginator(queryset, per_page, **options)


class QingshanAdminSite(admin.AdminSite):
    site_header = _("Qingshan: rural environment inspections")
    site_title = _("Qingshan")
    index_title = _("Inspection administration")
    # 查看站点 leads to the published results, the one page the public sees.
    site_url = "/public/"
    # The lists are wide (problems, inspections): without Django's navigation sidebar they
    # fit 1280 px beside their filters. The first page (the workbench) lists every model.
    enable_nav_sidebar = False

    # The first page's own content, set by the concern that draws it (the workbench):
    # a template that extends the index, and the context it reads. Common knows no concern.
    first_page: Callable[[HttpRequest], dict[str, Any]] | None = None

    def first_page_set(self, *, template: str, context: Callable[[HttpRequest], dict[str, Any]]) -> None:
        """Draw the index (the first page after login) with ``template``, fed by ``context(request)``."""
        self.index_template = template
        self.first_page = context

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        if self.first_page is not None:
            extra_context = {**self.first_page(request), **(extra_context or {})}
        return super().index(request, extra_context)

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, PermissionBeforeLookup):
            rules = (PermissionBeforeLookup, PagesFromBothEnds)
            admin_class = type(admin_class.__name__, (*rules, admin_class), {})
        super().register(model_or_iterable, admin_class, **options)


class QingshanAdminConfig(AdminConfig):
    default_site = "inspections.common.admin_site.QingshanAdminSite"
