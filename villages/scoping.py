"""Jurisdiction scoping for the admin: a supervisor of county X sees X's subtree.

Scope is a division-code prefix: ``""`` sees everything, ``"330523"`` Anji
County's subtree, ``None`` nothing. Whose prefix it is comes from the account
(``inspections.accounts.models.User.scope_prefix()``); this module only asks
``request.user`` for it, so that ``villages`` needs nothing from
``inspections`` and both apps' admins scope the same way.

Each scoped ModelAdmin names the path from its model to a division or village
code in ``scope_code_field``; the changelist, the change views (a foreign id in
the URL is a 404), the search and the foreign-key choices are all filtered by
the prefix.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from villages.models import Division, Village


def user_prefix(user: object) -> str | None:
    """The code prefix ``user`` sees: its ``scope_prefix()``, or ``None`` (nothing) if it has none."""
    scope = getattr(user, "scope_prefix", None)
    return scope() if scope is not None else None


def request_prefix(request: HttpRequest) -> str | None:
    """The code prefix the user of ``request`` sees (``None``: nothing)."""
    return user_prefix(request.user)


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
