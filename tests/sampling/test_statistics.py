"""The draw's randomness: weights are honoured, and recusal and capacity always hold."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from itertools import permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from inspections.common.randomness import keyed_uniform, keyed_uniforms, sort_key, weighted_sample_sorted
from inspections.sampling.draw import (
    Candidates,
    Roster,
    RosterEntry,
    UnstaffableError,
    allocate,
    candidates_parse,
    candidates_serialise,
    draw_teams,
    draw_villages,
    roster_parse,
    roster_serialise,
)

WEIGHTS = [1.0, 1.0, 2.0, 2.0, 3.0, 4.0, 6.0, 8.0]
CODES = [f"330523108{200 + n:03d}" for n in range(len(WEIGHTS))]
DRAWS = 4000
# chi-square, 7 degrees of freedom, p = 0.001
CRITICAL_7DF = 24.322


def seed(n: int) -> bytes:
    return hashlib.sha256(f"seed-{n}".encode()).digest()


def inclusion_counts(weights: list[float], k: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    candidates = Candidates(CODES, weights)
    for n in range(DRAWS):
        _allocation, drawn = draw_villages(seed(n), candidates, sample_size=k, minimum=0, stratum_length=0)
        counts.update(code for code, _stratum, _rank in drawn)
    return counts


def chi_square(counts: Counter[str], expected: list[float]) -> float:
    return sum((counts[code] - e) ** 2 / e for code, e in zip(CODES, expected, strict=True))


def test_single_draws_follow_the_weights_and_uniform_sampling_would_fail_the_same_test() -> None:
    total = sum(WEIGHTS)
    expected = [DRAWS * w / total for w in WEIGHTS]

    weighted = chi_square(inclusion_counts(WEIGHTS, 1), expected)
    uniform = chi_square(inclusion_counts([1.0] * len(WEIGHTS), 1), expected)

    assert weighted < CRITICAL_7DF, weighted
    assert uniform > 10 * CRITICAL_7DF, uniform


def exact_inclusion(weights: list[float], k: int) -> list[float]:
    """Inclusion probabilities of successive sampling without replacement, by enumeration."""
    p = [0.0] * len(weights)
    for order in permutations(range(len(weights)), k):
        chance, left = 1.0, sum(weights)
        for index in order:
            chance *= weights[index] / left
            left -= weights[index]
        for index in order:
            p[index] += chance
    return p


def test_samples_of_three_match_the_exact_inclusion_probabilities() -> None:
    probabilities = exact_inclusion(WEIGHTS, 3)
    counts = inclusion_counts(WEIGHTS, 3)

    for code, p in zip(CODES, probabilities, strict=True):
        z = (counts[code] - DRAWS * p) / math.sqrt(DRAWS * p * (1 - p))
        assert abs(z) < 4, (code, counts[code], DRAWS * p)


def test_the_stream_is_shake_256_of_the_keyed_hash_as_documented() -> None:
    key = hmac.new(seed(1), b"village:330523:stream", hashlib.sha256).digest()
    stream = hashlib.shake_256(key).digest(8 * 9)
    words = [int.from_bytes(stream[8 * i : 8 * i + 8], "big") for i in range(9)]

    numbers = keyed_uniforms(seed(1), "village:330523", 9)

    assert numbers == [((w >> 11) + 0.5) / 2**53 for w in words]
    assert numbers[:4] == keyed_uniforms(seed(1), "village:330523", 4)
    assert len(set(numbers)) == 9 and all(0 < u < 1 for u in numbers)


@given(
    weights=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=40),
    k=st.integers(min_value=0, max_value=45),
    n=st.integers(min_value=0, max_value=1000),
)
def test_the_fast_sample_is_efraimidis_spirakis_on_the_stream(weights: list[int], k: int, n: int) -> None:
    keys = [f"{i:012d}" for i in range(len(weights))]
    floats = [w / 7 for w in weights]
    uniforms = keyed_uniforms(seed(n), "x", len(keys))
    reference = sorted(range(len(keys)), key=lambda i: (-(math.log(uniforms[i]) / floats[i]), keys[i]))[:k]

    assert weighted_sample_sorted(seed(n), "x", keys, floats, k) == reference
    assert sort_key(seed(n), "x", "0", 1.0) == math.log(keyed_uniform(seed(n), "x", "0"))


def test_the_candidate_list_is_canonical() -> None:
    from decimal import Decimal

    text = candidates_serialise([("330523108205", Decimal("2.5")), ("330523108204", Decimal("1"))])

    assert text == "330523108204,1.000000\n330523108205,2.500000\n"
    assert candidates_parse(text).weights == [1.0, 2.5]
    for bad in (
        "330523108205,1.000000\n330523108204,1.000000\n",
        "330523108204,1.0\n",
        "33052310820,1.000000\n",
    ):
        try:
            candidates_parse(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad!r}")


def test_the_allocation_gives_the_minimum_then_shares_by_what_is_left() -> None:
    # 1 each; the other 6 by what is left (9 : 29 : 0) = 1.42 : 4.58, floors 1 and 4, remainder to b
    assert allocate({"a": 10, "b": 30, "c": 1}, 9, 1) == {"a": 2, "b": 6, "c": 1}
    assert allocate({"a": 2, "b": 2}, 4, 5) == {"a": 2, "b": 2}
    assert sum(allocate({"a": 7, "b": 7, "c": 7}, 10, 0).values()) == 10


# --- Recusal and capacity never break --------------------------------------------------------------

COUNTY_CODES = ["330521", "330522", "330523", "330502", "320102"]


@st.composite
def rosters_and_villages(draw: st.DrawFn) -> tuple[Roster, list[str], int, int, bytes]:
    people = draw(
        st.lists(
            st.tuples(st.sampled_from(COUNTY_CODES), st.integers(min_value=1, max_value=3)),
            max_size=12,
        )
    )
    entries = [RosterEntry(f"C{i:02d}", home, capacity) for i, (home, capacity) in enumerate(people)]
    villages = sorted(
        draw(
            st.sets(
                st.builds(
                    lambda c, n: f"{c}101{n:03d}", st.sampled_from(COUNTY_CODES), st.integers(200, 260)
                ),
                min_size=1,
                max_size=8,
            )
        )
    )
    credentials = [e.credential for e in entries]
    previous = {
        code: frozenset(draw(st.sets(st.sampled_from(credentials), max_size=3)))
        if credentials
        else frozenset()
        for code in villages
    }
    team_size = draw(st.integers(min_value=2, max_value=3))
    pool_length = draw(st.sampled_from([0, 2, 4]))
    return (
        roster_parse(roster_serialise(entries, previous)),
        villages,
        team_size,
        pool_length,
        draw(st.binary(min_size=32, max_size=32)),
    )


@settings(max_examples=300, deadline=None)
@given(case=rosters_and_villages())
def test_recusal_and_capacity_never_break(case: tuple[Roster, list[str], int, int, bytes]) -> None:
    roster, villages, team_size, pool_length, the_seed = case
    by_credential = {e.credential: e for e in roster.inspectors}
    try:
        teams = draw_teams(the_seed, villages, roster, team_size=team_size, pool_length=pool_length)
    except UnstaffableError as error:
        assert error.villages and {v.code for v in error.villages} <= set(villages)
        return
    assert set(teams) == set(villages)
    load: Counter[str] = Counter()
    for code, team in teams.items():
        assert len(team) == len(set(team)) == team_size
        for credential in team:
            member = by_credential[credential]
            assert not code.startswith(member.home[:6]), "home county"
            assert credential not in roster.previous_team(code), "previous team"
            assert member.home[:pool_length] == code[:pool_length], "pool"
            load[credential] += 1
    for credential, visits in load.items():
        assert visits <= by_credential[credential].capacity, "capacity"


@given(
    weights=st.lists(st.sampled_from([1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 2.25, 3.0]), min_size=1, max_size=300),
    k=st.integers(min_value=1, max_value=5),
    n=st.integers(min_value=0, max_value=10_000),
)
def test_the_shortcut_for_shared_weights_gives_the_full_computations_result(
    weights: list[float], k: int, n: int
) -> None:
    keys = [f"{i:012d}" for i in range(len(weights))]
    uniforms = keyed_uniforms(seed(n), "village:330523", len(keys))
    reference = sorted(range(len(keys)), key=lambda i: (-(math.log(uniforms[i]) / weights[i]), keys[i]))[:k]

    assert weighted_sample_sorted(seed(n), "village:330523", keys, weights, k) == reference
