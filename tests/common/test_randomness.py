from __future__ import annotations

import hashlib
import hmac

import pytest

from inspections.common.randomness import keyed_uniform, sort_key, weighted_sample

SEED = bytes.fromhex("00" * 31 + "01")


def test_it_is_hmac_sha256_of_label_and_key_as_documented() -> None:
    digest = hmac.new(SEED, b"village:330523108204", hashlib.sha256).digest()
    expected = ((int.from_bytes(digest[:8], "big") >> 11) + 0.5) / 2**53

    assert keyed_uniform(SEED, "village", "330523108204") == expected
    assert 0 < expected < 1


def test_labels_give_independent_streams() -> None:
    assert keyed_uniform(SEED, "village", "x") != keyed_uniform(SEED, "team", "x")


def test_the_same_seed_draws_the_same_sample_in_the_same_order() -> None:
    items = [(f"{n:012d}", 1.0 + n % 3, n) for n in range(200)]

    first = weighted_sample(SEED, "village", items, 10)

    assert first == weighted_sample(SEED, "village", list(reversed(items)), 10)
    assert first != weighted_sample(b"other seed", "village", items, 10)
    assert len(set(first)) == 10


def test_a_sample_larger_than_the_items_returns_them_all() -> None:
    assert sorted(weighted_sample(SEED, "v", [("a", 1, "a"), ("b", 2, "b")], 5)) == ["a", "b"]


def test_weights_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        sort_key(SEED, "v", "a", 0)
