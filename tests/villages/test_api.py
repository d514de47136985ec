from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.builders import inspector, responsible_party, supervisor, user, village
from tests.conftest import assert_problem, client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/villages/"


@pytest.fixture
def anji_and_deqing() -> None:
    village("330523108204", "余村村委会")
    village("330523108205", "银坑村村委会")
    village("330523001002", "苕秀社区居委会")
    village("330521101201", "余村头村委会")  # 德清: same name fragment, other county


def codes(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [row["code"] for row in response.json()["results"]]


def test_it_finds_yucun_for_a_supervisor_of_anji(anji_and_deqing: None) -> None:
    response = client_for(supervisor("330523")).get(URL, {"search": "余村"})

    assert response.status_code == 200
    assert codes(response) == ["330523108204"]
    row = response.json()["results"][0]
    assert row["township"] == {"code": "330523108", "name": "区划330523108", "level": 4}
    assert row["kind"] == "villagers"


def test_a_supervisor_of_another_county_finds_nothing_of_anji(anji_and_deqing: None) -> None:
    response = client_for(supervisor("330522")).get(URL, {"search": "余村"})

    assert response.status_code == 200
    assert codes(response) == []
    assert response.json()["count"] == 0


def test_a_prefecture_supervisor_sees_every_county_below(anji_and_deqing: None) -> None:
    response = client_for(supervisor("3305")).get(URL, {"search": "余村"})

    assert codes(response) == ["330521101201", "330523108204"]


def test_it_searches_by_the_start_of_a_code(anji_and_deqing: None) -> None:
    response = client_for(supervisor("33")).get(URL, {"search": "330523108"})

    assert codes(response) == ["330523108204", "330523108205"]


def test_it_filters_by_division_prefix_and_class(anji_and_deqing: None) -> None:
    client = client_for(supervisor("3305"))

    assert codes(client.get(URL, {"division": "330523", "kind": "residents"})) == ["330523001002"]
    assert len(codes(client.get(URL, {"division": "330523", "kind": "villagers"}))) == 2


def test_a_division_filter_cannot_widen_the_jurisdiction(anji_and_deqing: None) -> None:
    response = client_for(supervisor("330523")).get(URL, {"division": "33"})

    assert set(codes(response)) == {"330523108204", "330523108205", "330523001002"}


def test_a_responsible_party_sees_their_township_only(anji_and_deqing: None) -> None:
    response = client_for(responsible_party("330523108")).get(URL)

    assert codes(response) == ["330523108204", "330523108205"]


def test_an_account_without_jurisdiction_sees_no_village(anji_and_deqing: None) -> None:
    assert client_for(user()).get(URL).json()["count"] == 0
    assert client_for(inspector().user).get(URL).json()["count"] == 0


def test_without_a_token_it_is_a_401_problem_document(api, anji_and_deqing: None) -> None:  # type: ignore[no-untyped-def]
    response = api.get(URL, {"search": "余村"})

    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_bad_token_is_a_401_problem_document(api) -> None:  # type: ignore[no-untyped-def]
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    assert_problem(api.get(URL), 401, "token_not_valid")


def test_a_bad_filter_value_is_a_400_with_field_errors(anji_and_deqing: None) -> None:
    response = client_for(supervisor("3305")).get(URL, {"kind": "castle"})

    body = assert_problem(response, 400, "validation_error")
    assert body["errors"][0]["field"] == "kind"
    assert body["errors"][0]["code"] == "invalid_choice"


def test_a_page_past_the_end_is_a_404_problem(anji_and_deqing: None) -> None:
    assert_problem(client_for(supervisor("3305")).get(URL, {"page": 99}), 404, "not_found")


def test_the_query_count_does_not_depend_on_the_page_size() -> None:
    for n in range(30):
        village(f"330523108{200 + n:03d}")
    client = client_for(supervisor("3305"))

    counts = []
    for size in (2, 25):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"page_size": size})
        assert len(response.json()["results"]) == size
        counts.append(len(queries))

    # the user (authentication), the user's jurisdiction, count(*), and the page of
    # villages joined to their townships
    assert counts == [4, 4]
