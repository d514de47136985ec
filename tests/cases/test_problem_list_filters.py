"""The problem list (问题清单) filtered by area by name: county, then township, then village."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.builders import ANJI, DEQING, HUZHOU, at, case, division, supervisor, village

pytestmark = pytest.mark.django_db

LIST = "/admin/inspections/case/"
TIANHUANGPING = f"{ANJI}108"
DIPU = f"{ANJI}101"


@pytest.fixture
def problems() -> dict[str, Any]:
    """Problems in two townships of Anji and one in Deqing, the places named as the NBS names them."""
    division(HUZHOU, "湖州市")
    division(ANJI, "安吉县")
    division(DEQING, "德清县")
    division(TIANHUANGPING, "天荒坪镇")
    division(DIPU, "递铺街道")
    division(f"{DEQING}100", "武康街道")
    village(f"{TIANHUANGPING}204", "余村")
    village(f"{TIANHUANGPING}205", "银坑村")
    village(f"{DIPU}201", "古城村")
    village(f"{DEQING}100201", "五四村")
    opened = at(2025, 3, 3, 10)
    made = {}
    for code in (f"{TIANHUANGPING}204", f"{TIANHUANGPING}205", f"{DIPU}201", f"{DEQING}100201"):
        made[code] = case(code, opened_at=opened, deadline=dt.date(2025, 3, 20))
    return made


def listed(reader: Any, **params: str) -> tuple[set[str], dict[str, list[tuple[str, str, bool]]]]:
    """The villages of the problems listed, and each area filter's choices (name, link, selected)."""
    client = Client()
    client.force_login(reader)
    response = client.get(LIST, params, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200, response
    changelist = response.context["cl"]
    villages = {problem.village.code for problem in changelist.result_list}
    filters = {
        spec.parameter_name: [
            (str(c["display"]), c["query_string"], c["selected"]) for c in spec.choices(changelist)
        ]
        for spec in changelist.filter_specs
        if getattr(spec, "parameter_name", None)
        in {"division", "province", "prefecture", "county", "township", "village"}
    }
    return villages, filters


def names(choices: list[tuple[str, str, bool]]) -> list[str]:
    return [name for name, _link, _selected in choices[1:]]  # the first is 全部


def test_a_county_supervisor_picks_a_township_by_name_then_a_village(problems: dict[str, Any]) -> None:
    anji = supervisor(ANJI)

    villages, filters = listed(anji)
    assert villages == {f"{TIANHUANGPING}204", f"{TIANHUANGPING}205", f"{DIPU}201"}
    # Only the townships of Anji, by name; no county list, and no villages before a township.
    assert set(filters) == {"township"}
    assert names(filters["township"]) == ["递铺街道", "天荒坪镇"]

    villages, filters = listed(anji, township=TIANHUANGPING)
    assert villages == {f"{TIANHUANGPING}204", f"{TIANHUANGPING}205"}
    assert names(filters["village"]) == ["余村", "银坑村"]
    assert [name for name, _link, selected in filters["township"] if selected] == ["天荒坪镇"]

    villages, filters = listed(anji, township=TIANHUANGPING, village=f"{TIANHUANGPING}204")
    assert villages == {f"{TIANHUANGPING}204"}
    # Another township's link drops the village chosen in this one.
    dipu_link = next(link for name, link, _s in filters["township"] if name == "递铺街道")
    assert "village=" not in dipu_link and f"township={DIPU}" in dipu_link


def test_a_prefecture_supervisor_picks_the_county_first(problems: dict[str, Any]) -> None:
    huzhou = supervisor(HUZHOU)

    villages, filters = listed(huzhou)
    assert len(villages) == 4
    assert set(filters) == {"county"} and names(filters["county"]) == ["德清县", "安吉县"]

    villages, filters = listed(huzhou, county=ANJI)
    assert names(filters["township"]) == ["递铺街道", "天荒坪镇"]
    assert "village" not in filters
    assert villages == {f"{TIANHUANGPING}204", f"{TIANHUANGPING}205", f"{DIPU}201"}

    villages, _filters = listed(huzhou, county=ANJI, township=DIPU)
    assert villages == {f"{DIPU}201"}


def test_the_names_offered_stay_in_the_readers_jurisdiction(problems: dict[str, Any]) -> None:
    anji = supervisor(ANJI)

    # Another county's township: nothing listed, and no name of Deqing's is offered.
    villages, filters = listed(anji, township=f"{DEQING}100")
    assert villages == set()
    assert "武康街道" not in str(filters) and "五四村" not in str(filters)
    assert names(filters["township"]) == ["递铺街道", "天荒坪镇"]
    # A county filter given by hand to a county supervisor, or a malformed code: nothing, no error.
    assert listed(anji, county=DEQING)[0] == set()
    assert listed(anji, village="余村")[0] == set()
    assert listed(anji, township="33052310")[0] == set()


def test_the_workbench_link_by_division_is_named_and_lists_its_villages(problems: dict[str, Any]) -> None:
    villages, filters = listed(supervisor(ANJI), division=TIANHUANGPING)

    assert villages == {f"{TIANHUANGPING}204", f"{TIANHUANGPING}205"}
    assert names(filters["division"]) == ["天荒坪镇"]
    assert names(filters["village"]) == ["余村", "银坑村"]


def test_the_area_filters_cost_the_same_queries_however_many_townships_and_villages(
    problems: dict[str, Any],
) -> None:
    anji = supervisor(ANJI)
    client = Client()
    client.force_login(anji)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST, {"township": TIANHUANGPING}).status_code == 200
        return len(captured)

    before = queries()
    for n in range(20):
        division(f"{ANJI}{110 + n}", f"乡镇{n}")
        village(f"{TIANHUANGPING}{300 + n}", f"新村{n}")
    assert queries() == before
