"""Lists searched by their rows' village: by name (contains) or code (starts with), in the jurisdiction."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from inspections.accounts.roles import sync_role_groups
from inspections.fieldwork.models import Inspection
from inspections.sampling.models import KeyVillage
from tests import builders
from villages.admin_search import search_words

pytestmark = pytest.mark.django_db

YUCUN, ANJI_OTHER, DEQING_VILLAGE = builders.YUCUN, builders.ANJI_OTHER, builders.DEQING_VILLAGE


@pytest.fixture
def villages() -> dict[str, int]:
    """An inspection in each of three villages, two of them in Anji; their ids by village code."""
    sync_role_groups()
    names = {YUCUN: "余村村委会", ANJI_OTHER: "递铺街道某社区", DEQING_VILLAGE: "德清余家村委会"}
    return {
        code: builders.inspection(village=builders.village(code, name), status=Inspection.Status.SUBMITTED).pk
        for code, name in names.items()
    }


def found(client: Client, url: str, term: str) -> set[int]:
    response = client.get(url, {"q": term})
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def client_of(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_an_inspection_is_found_by_its_village_name_or_code_and_only_in_the_jurisdiction(villages) -> None:  # type: ignore[no-untyped-def]
    url = "/admin/inspections/inspection/"
    anji = client_of(builders.supervisor(builders.ANJI))
    national = client_of(builders.user(is_staff=True, is_superuser=True))

    assert found(anji, url, "余") == {villages[YUCUN]}  # 德清余家村 is outside Anji
    assert found(national, url, "余") == {villages[YUCUN], villages[DEQING_VILLAGE]}
    assert found(national, url, "余村村委会") == {villages[YUCUN]}
    assert found(national, url, "社区") == {villages[ANJI_OTHER]}
    assert found(national, url, "330523") == {villages[YUCUN], villages[ANJI_OTHER]}  # a code's start
    assert found(national, url, "108204") == set()  # not the middle of a code
    assert found(anji, url, "330521") == set()
    # Every word must match: the village's name holds both.
    assert found(national, url, "余 委会") == {villages[YUCUN], villages[DEQING_VILLAGE]}
    assert found(national, url, "余 社区") == set()
    assert found(national, url, '"余家 村"') == set()  # a quoted phrase is one word


def test_the_publication_picker_finds_inspections_by_village_name(villages) -> None:  # type: ignore[no-untyped-def]
    national = client_of(builders.user(is_staff=True, is_superuser=True))
    response = national.get(
        "/admin/autocomplete/",
        {
            "app_label": "inspections",
            "model_name": "publication",
            "field_name": "inspections",
            "term": "余村",
        },
    )

    assert response.status_code == 200
    assert [int(result["id"]) for result in response.json()["results"]] == [villages[YUCUN]]


def test_a_problem_is_found_by_its_number_or_its_village() -> None:
    sync_role_groups()
    builders.village(YUCUN, "余村村委会")
    builders.village(ANJI_OTHER, "递铺街道某社区")
    opened = builders.at(2026, 3, 2, 9)
    yucun = builders.case(YUCUN, opened_at=opened, deadline=dt.date(2026, 3, 20))
    other = builders.case(ANJI_OTHER, opened_at=opened, deadline=dt.date(2026, 3, 20))
    anji = client_of(builders.supervisor(builders.ANJI))
    url = "/admin/inspections/case/"

    assert found(anji, url, str(other.pk)) == {other.pk}
    assert found(anji, url, "余村") == {yucun.pk}
    assert found(anji, url, "330523") == {yucun.pk, other.pk}
    assert found(anji, url, "9" * 30) == set()  # digits too long for an id: no error, nothing found


def test_a_key_village_is_found_by_its_village_or_its_note() -> None:
    sync_role_groups()
    supervisor = builders.supervisor(builders.ANJI)
    yucun = KeyVillage.objects.create(
        village=builders.village(YUCUN, "余村村委会"),
        reason=KeyVillage.Reason.NAMED,
        note="西苕溪支流",
        added_by=supervisor,
    )
    other = KeyVillage.objects.create(
        village=builders.village(ANJI_OTHER, "某社区"), reason=KeyVillage.Reason.NAMED, added_by=supervisor
    )
    url = "/admin/inspections/keyvillage/"
    anji = client_of(supervisor)

    assert found(anji, url, "苕溪") == {yucun.pk}
    assert found(anji, url, "社区") == {other.pk}
    assert found(anji, url, "余村 苕溪") == {yucun.pk}


def test_words_are_split_as_the_admin_splits_them() -> None:
    assert search_words("  余村  \"天荒 坪\" 'x' ") == ["余村", "天荒 坪", "x"]
    assert search_words("") == []


@pytest.mark.parametrize("inline", [5000, 1])
def test_the_villages_are_looked_up_first_and_the_rows_by_their_village(inline: int, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("villages.admin_search.INLINE_VILLAGES", inline)
    sync_role_groups()
    yucun = builders.village(YUCUN, "余村村委会")
    builders.village(ANJI_OTHER, "余村第二村委会")
    visit = builders.inspection(village=yucun, status=Inspection.Status.SUBMITTED)
    other = builders.inspection(village=ANJI_OTHER, status=Inspection.Status.SUBMITTED)
    national = client_of(builders.user(is_staff=True, is_superuser=True))
    with CaptureQueriesContext(connection) as queries:
        assert found(national, "/admin/inspections/inspection/", "余村") == {visit.pk, other.pk}
    window = '"inspections_inspection"."window_start"'
    listed = [q["sql"] for q in queries.captured_queries if window in q["sql"]]
    assert listed
    for sql in listed:
        # The name is tested in the villages alone, never on a join of every row's village:
        # the rows' query names the villages found (two, fewer than inline) or their subquery.
        if inline > 2:
            assert "LIKE" not in sql
            (ids,) = re.findall(r'"village_id" IN \(([\d, ]+)\)', sql)
            assert {int(i) for i in ids.split(",")} == {yucun.pk, other.village_id}
        else:
            assert sql.index("LIKE") > sql.index('"village_id" IN (SELECT')
