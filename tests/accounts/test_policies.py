"""Who covers which part of the division tree."""

from __future__ import annotations

import pytest

from inspections.accounts.policies import user_covers
from tests.builders import inspector, responsible_party, supervisor, user

pytestmark = pytest.mark.django_db

YUCUN = "330523108204"


def test_it_covers_the_subtree_of_the_jurisdiction_only() -> None:
    anji = supervisor("330523")

    assert user_covers(anji, YUCUN)
    assert user_covers(anji, "330523")
    assert not user_covers(anji, "330521101201")
    assert not user_covers(anji, "3305")  # the prefecture above is not Anji's


def test_a_responsible_party_covers_its_township_only() -> None:
    tianhuangping = responsible_party("330523108")

    assert user_covers(tianhuangping, YUCUN)
    assert not user_covers(tianhuangping, "330523001002")


def test_a_superuser_covers_everything_and_an_inspector_nothing() -> None:
    assert user_covers(user(is_superuser=True), YUCUN)
    assert not user_covers(inspector().user, YUCUN)
    assert not user_covers(user(), YUCUN)
