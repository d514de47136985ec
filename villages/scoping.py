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

from collections import Counter
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from villages.models import LEVEL_CODE_LENGTHS, VILLAGE_CODE_LENGTH, Division, Village


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


class LinkedDivisionFilter(DivisionFilter):
    """The ``division`` a link asked for (a code of any level), named; offered only when asked for.

    For lists that choose their area level by level (:class:`DivisionLevelFilter`):
    the workbench still links to them by ``division``, and the reader sees which area
    that is and can clear it.
    """

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        prefix = request_prefix(request)
        value = self.value()
        if prefix is None or not value or not value.isdigit() or not value.startswith(prefix):
            return []
        model = Village if len(value) == VILLAGE_CODE_LENGTH else Division
        return [(code, name) for code, name in model.objects.filter(code=value).values_list("code", "name")]

    def has_output(self) -> bool:
        return self.value() is not None


# The level filters, widest first: their query parameters and the code length of their level.
LEVEL_PARAMETERS = (("province", 2), ("prefecture", 4), ("county", 6), ("township", 9), ("village", 12))
LEVEL_OF_LENGTH = {length: level for level, length in LEVEL_CODE_LENGTHS.items()}
# The most units one level filter lists: a township has a few dozen villages, a county a few
# dozen townships; a larger list is cut here (the search box finds any village by name).
LEVEL_CHOICES_LIMIT = 300


def chosen_area(request: HttpRequest, prefix: str) -> str:
    """The narrowest area of the reader's jurisdiction that the list's query string chooses.

    Starts from the jurisdiction (``prefix``) and narrows by ``division`` and then each
    level's parameter in turn, as long as each lies inside the area so far: a code
    outside the jurisdiction, or malformed, narrows nothing (and lists no names).
    """
    area = prefix
    for name in ("division", *(level for level, _length in LEVEL_PARAMETERS)):
        value = request.GET.get(name, "")
        if value.isdigit() and len(value) in CHILD_CODE_LENGTH.values() and value.startswith(area):
            area = value
    return area


class DivisionLevelFilter(admin.SimpleListFilter):
    """Rows under one unit of a level (a county, a township, a village), chosen by its name.

    A level's units are listed once the level above is fixed, by the reader's jurisdiction
    or by the filter above it: a county supervisor picks a township, then one of its
    villages; a prefecture supervisor picks a county first. So each list has the units of
    one parent only (one query, however large the country), and no level is listed at or
    above the reader's own. Choosing a unit clears the choices below it.
    """

    code_path = "village__code"
    length = 0

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        prefix = request_prefix(request)
        if prefix is None or len(prefix) >= self.length:
            return []
        area = chosen_area(request, prefix)
        parent = next(length for length in (9, 6, 4, 2, 0) if length < self.length)
        if len(area) < parent:
            return []
        units: Any
        if self.length == VILLAGE_CODE_LENGTH:
            units = Village.objects.filter(code__startswith=area[:parent])
        else:
            units = Division.objects.filter(
                level=LEVEL_OF_LENGTH[self.length], code__startswith=area[:parent]
            )
        rows = list(units.order_by("code").values_list("code", "name")[:LEVEL_CHOICES_LIMIT])
        repeated = Counter(name for _code, name in rows)
        # Two villages of one township may share a name: the code tells them apart.
        return [(code, name if repeated[name] == 1 else f"{name} ({code})") for code, name in rows]

    def has_output(self) -> bool:
        # A value given by hand (or for a level not listed) still filters, and can be cleared.
        return bool(self.lookup_choices) or self.value() is not None

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        if not (value.isdigit() and len(value) == self.length):
            return queryset.none()
        return queryset.filter(**{f"{self.code_path}__startswith": value})

    def choices(self, changelist: Any) -> Any:
        narrower = [name for name, length in LEVEL_PARAMETERS if length > self.length]
        stale = [*narrower, "division"]
        values = [None, *(code for code, _name in self.lookup_choices)]
        for choice, value in zip(super().choices(changelist), values, strict=True):
            if value is None:
                choice["query_string"] = changelist.get_query_string(remove=[self.parameter_name, *stale])
            else:
                choice["query_string"] = changelist.get_query_string({self.parameter_name: value}, stale)
            yield choice


class ProvinceFilter(DivisionLevelFilter):
    title = _("province")
    parameter_name = "province"
    length = 2


class PrefectureFilter(DivisionLevelFilter):
    title = _("prefecture")
    parameter_name = "prefecture"
    length = 4


class CountyFilter(DivisionLevelFilter):
    title = _("county")
    parameter_name = "county"
    length = 6


class TownshipFilter(DivisionLevelFilter):
    title = _("township")
    parameter_name = "township"
    length = 9


class VillageFilter(DivisionLevelFilter):
    title = _("village")
    parameter_name = "village"
    length = 12


# A list's filters by area, widest first (the linked ``division`` before them).
DIVISION_LEVEL_FILTERS = [
    LinkedDivisionFilter,
    ProvinceFilter,
    PrefectureFilter,
    CountyFilter,
    TownshipFilter,
    VillageFilter,
]
