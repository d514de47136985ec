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
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

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


# The length of a division's code one level down from a prefix of this length
# (the country, a province, a prefecture, a county; a township's children are villages).
CHILD_CODE_LENGTH = {0: 2, 2: 4, 4: 6, 6: 9, 9: 12}


class DivisionFilter(admin.SimpleListFilter):
    """Rows under one division (its code as a prefix of ``code_path``), offered one level below the reader's.

    The reader's own jurisdiction is offered too, so that the filter is shown
    (and applied) for a code of any level inside it: the first page's figures
    link to each township, county or prefecture this way. The list stays
    scoped by the admin's queryset whatever code is asked for.
    """

    title = _("division")
    parameter_name = "division"
    code_path = "village__code"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        prefix = request_prefix(request)
        if prefix is None:
            return []
        length = CHILD_CODE_LENGTH.get(len(prefix))
        wanted = Q(code=prefix) | Q(code__length=length) if length is not None else Q(code=prefix)
        divisions = Division.objects.within(prefix).filter(wanted).order_by("code")[:400]
        return [(d.code, f"{d.name} ({d.code})") for d in divisions]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if not (value.isdigit() and len(value) <= 12):
            return queryset.none()
        return queryset.filter(**{f"{self.code_path}__startswith": value})
