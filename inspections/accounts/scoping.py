"""Jurisdiction scoping for the admin: a supervisor of county X sees X's subtree.

Each scoped ModelAdmin names the path from its model to a division or village
code in ``scope_code_field``; the changelist, the change views (a foreign id in
the URL is a 404), the search and the foreign-key choices are all filtered by
the user's ``scope_prefix()``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from villages.models import Division, Village


def request_prefix(request: HttpRequest) -> str | None:
    scope = getattr(request.user, "scope_prefix", None)
    return scope() if scope is not None else None


class JurisdictionScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    scope_code_field: str = "code"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        prefix = request_prefix(request)
        if prefix is None:
            return queryset.none()
        if prefix == "":
            return queryset
        return queryset.filter(**{f"{self.scope_code_field}__startswith": prefix})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        prefix = request_prefix(request)
        if db_field.related_model in (Division, Village) and prefix:
            kwargs["queryset"] = db_field.related_model.objects.within(prefix)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
