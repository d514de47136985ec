"""The admin lists' paginator: a page near the end is read from the end.

A list of two million inspections pages by 100. Its last page, read as
Django does (``ORDER BY … OFFSET 1999900``), makes the database walk two
million index entries to throw them away. Read backwards (the order
reversed, ``OFFSET 0``) it is as cheap as the first page. Pages in the back
half are read that way and turned round again in Python, so every page a
list's links offer (the first ones, those around the current page, the last
ones) costs no more than a page in the middle of a list half as long.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet


class BothEndsPaginator(Paginator):
    """Like Django's paginator; a page in the back half is sliced from the reversed order.

    Only for an ordered queryset (the admin always orders its lists totally,
    adding the primary key): the reversed order then holds the same rows
    in exactly the opposite sequence, so the page has the same rows in the
    same order. Anything else is paged as Django does.
    """

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        count = self.count
        if top + self.orphans >= count:
            top = count
        rows = self.object_list
        if not isinstance(rows, QuerySet) or not self._reversible() or bottom <= count - top:
            return Page(rows[bottom:top], number, self)
        backwards = list(rows.reverse()[count - top : count - bottom])
        backwards.reverse()
        return Page(backwards, number, self)

    def _reversible(self) -> bool:
        rows = self.object_list
        return isinstance(rows, QuerySet) and rows.ordered and not rows.query.combinator
