"""The village reads take the caller's scope as a code prefix."""

from __future__ import annotations

import pytest

from tests.builders import village
from villages.selectors import division_list, village_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def anji_and_deqing() -> None:
    village("330523108204", "余村村委会")
    village("330521101201", "余村头村委会")


def test_it_lists_the_villages_under_a_prefix(anji_and_deqing: None) -> None:
    assert [v.code for v in village_list(prefix="330523")] == ["330523108204"]
    assert sorted(v.code for v in village_list(prefix="")) == ["330521101201", "330523108204"]


def test_it_lists_nothing_without_a_scope(anji_and_deqing: None) -> None:
    assert not village_list(prefix=None).exists()
    assert not division_list(prefix=None).exists()


def test_it_lists_the_divisions_under_a_prefix(anji_and_deqing: None) -> None:
    codes = set(division_list(prefix="330523").values_list("code", flat=True))

    assert "330523108" in codes and not any(code.startswith("330521") for code in codes)
