"""The admin lists' paginator gives every page exactly as Django's does, reading the back half backwards."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.paginator import Paginator, UnorderedObjectListWarning
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inspections.common.paginator import BothEndsPaginator
from tests import builders
from villages.models import Village


@pytest.fixture
def villages() -> None:
    # Names repeat, so that an order by name alone is not total and the pk decides ties.
    for number in range(23):
        builders.village(f"3305021010{number:02d}", name=f"村{number % 4}")


@pytest.mark.django_db
@pytest.mark.usefixtures("villages")
@pytest.mark.parametrize("ordering", [["code"], ["-name", "pk"], ["name", "-pk"]])
@pytest.mark.parametrize(("per_page", "orphans"), [(5, 0), (5, 2), (4, 3), (23, 0), (30, 0)])
def test_every_page_holds_the_rows_django_gives(ordering: list[str], per_page: int, orphans: int) -> None:
    rows = Village.objects.order_by(*ordering)
    expected = Paginator(rows, per_page, orphans=orphans)
    paginator = BothEndsPaginator(rows, per_page, orphans=orphans)
    assert paginator.num_pages == expected.num_pages
    for number in expected.page_range:
        page, wanted = paginator.page(number), expected.page(number)
        assert [v.code for v in page.object_list] == [v.code for v in wanted.object_list]
        assert (page.start_index(), page.end_index()) == (wanted.start_index(), wanted.end_index())
        assert page.has_next() == wanted.has_next()


@pytest.mark.django_db
@pytest.mark.usefixtures("villages")
def test_a_page_in_the_back_half_is_read_in_the_reversed_order_from_near_its_start() -> None:
    paginator = BothEndsPaginator(Village.objects.order_by("code"), 5)
    paginator.count  # noqa: B018 (counted once, before the page's own query)
    with CaptureQueriesContext(connection) as front:
        list(paginator.page(2).object_list)
    with CaptureQueriesContext(connection) as back:
        last = list(paginator.page(5).object_list)
    assert [v.code[-2:] for v in last] == ["20", "21", "22"]
    (front_sql,) = (q["sql"] for q in front.captured_queries)
    (back_sql,) = (q["sql"] for q in back.captured_queries)
    assert "OFFSET 5" in front_sql
    assert "DESC" in back_sql
    assert "OFFSET" not in back_sql  # the last page is the reversed order's first


@pytest.mark.django_db
@pytest.mark.usefixtures("villages")
def test_an_unordered_list_or_a_plain_list_is_paged_as_django_pages_it() -> None:
    codes = list(Village.objects.order_by("code").values_list("code", flat=True))
    assert BothEndsPaginator(codes, 5).page(5).object_list == codes[20:]
    with pytest.warns(UnorderedObjectListWarning):  # Django's own warning, kept
        unordered = BothEndsPaginator(Village.objects.order_by(), 5)
    assert not unordered._reversible()
    assert len(unordered.page(5).object_list) == 3


@pytest.mark.django_db
def test_every_admin_list_pages_from_both_ends_except_lists_edited_in_place(rf) -> None:  # type: ignore[no-untyped-def]
    request = rf.get("/")
    for model_admin in admin.site._registry.values():
        paginator = model_admin.get_paginator(request, Village.objects.order_by("code"), 100)
        if model_admin.list_editable:
            assert type(paginator) is Paginator, type(model_admin).__name__
        else:
            assert isinstance(paginator, BothEndsPaginator), type(model_admin).__name__
    assert any(model_admin.list_editable for model_admin in admin.site._registry.values())
