"""Lists searched by their rows' village: the villages are found first, then their rows.

Django's admin writes ``search_fields = ["village__name"]`` as a join with
``UPPER(name) LIKE …`` in the WHERE clause, ORed with the other fields. On a
national list (two million inspections) PostgreSQL then walks the list's
order testing each row's village, for seconds. Here each word of the search
is looked up in the villages alone (their name contains it, or their code
starts with it: a trigram index and the code's index on PostgreSQL), and the
rows are those whose village is one of them, ``village_id IN (…)``.

A word found in a few thousand villages at most (a village's name, or most
of it) hands the rows' query those villages' ids: with the list written out,
PostgreSQL reads the rows of each village from its index (tens of
milliseconds) instead of estimating a subquery and walking the whole list.
A commoner word keeps the subquery.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.text import smart_split, unescape_string_literal

from villages.scoping import request_prefix
from villages.selectors import villages_matching

# The most villages a word's rows are looked up by as a list of ids (beyond: a subquery).
INLINE_VILLAGES = 5000


def search_words(search_term: str) -> list[str]:
    """The words of a search as Django's admin splits them (quoted phrases kept whole)."""
    words = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit:
            words.append(bit)
    return words


class VillageSearchAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """``search_fields`` naming ``village_search_field`` search by the row's village, as above.

    Each word must match: the row's village by name (contains) or code (starts
    with), or one of the other ``search_fields`` (Django's prefixes: ``=``
    exact, ``^`` starts with, none contains). With ``search_by_id``, a word of
    digits also matches the row's id.
    """

    village_search_field = "village"
    search_by_id = False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        fields = list(self.get_search_fields(request))
        words = search_words(search_term)
        if not words or not fields:
            return queryset, False
        within = request_prefix(request) or ""
        by_village = self.village_search_field in fields
        own = [field for field in fields if field != self.village_search_field]
        for word in words:
            alternatives = [Q(**{_lookup(field): word}) for field in own]
            if by_village:
                alternatives.append(Q(**{f"{self.village_search_field}__in": _villages(word, within)}))
            if self.search_by_id and word.isdigit() and len(word) <= 18:
                alternatives.append(Q(pk=int(word)))
            queryset = queryset.filter(reduce(operator.or_, alternatives))
        return queryset, False


def _villages(word: str, within: str) -> Any:
    """The ids of the villages matching ``word``, as a list when they are few, else as a subquery."""
    matching = villages_matching(word, within=within).values_list("pk", flat=True)
    ids = list(matching[: INLINE_VILLAGES + 1])
    return ids if len(ids) <= INLINE_VILLAGES else matching


def _lookup(field: str) -> str:
    if field.startswith("^"):
        return f"{field[1:]}__istartswith"
    if field.startswith("="):
        return f"{field[1:]}__iexact"
    return f"{field}__icontains"
