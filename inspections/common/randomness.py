"""The one source of randomness for draws: keyed hashes of a seed.

Every draw in Qingshan (villages of a sampling plan, inspector teams,
verification visitors, look-back samples) is a pure function of a seed and
the items drawn from, so anyone with the revealed seed can re-run it. Never
Python's ``random``.

For a seed (bytes) and an item key (a string such as a village code):

1. ``d = HMAC-SHA256(key=seed, msg=label + ":" + item_key as UTF-8)``
2. ``u = (int(d[0:8] big-endian) >> 11) + 0.5) / 2**53`` — uniform in (0, 1)
3. for weight ``w > 0`` the sort key is ``ln(u) / w`` (the logarithm of
   Efraimidis–Spirakis' ``u^(1/w)``, same order, no underflow)
4. weighted sampling without replacement of ``k`` items: the ``k`` largest
   sort keys; ties (practically impossible) broken by the item key ascending.

``label`` separates independent uses of one seed (``"village"``,
``"team:330523108204"``…) so that a team draw never correlates with the
village draw.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import math
import operator
import struct
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def keyed_uniform(seed: bytes, label: str, item_key: str) -> float:
    """A number uniform in (0, 1), determined by the seed, the label and the item."""
    digest = hmac.new(seed, f"{label}:{item_key}".encode(), hashlib.sha256).digest()
    return ((int.from_bytes(digest[:8], "big") >> 11) + 0.5) / 2**53


def sort_key(seed: bytes, label: str, item_key: str, weight: float) -> float:
    """Efraimidis–Spirakis key ``ln(u) / w``: larger keys are drawn first."""
    if weight <= 0:
        raise ValueError(f"weights must be positive, got {weight} for {item_key}")
    return math.log(keyed_uniform(seed, label, item_key)) / weight


def weighted_sample(seed: bytes, label: str, items: Iterable[tuple[str, float, T]], k: int) -> list[T]:
    """Draw ``k`` of ``(item_key, weight, value)`` without replacement, in draw order."""
    keyed = [(sort_key(seed, label, key, weight), key, value) for key, weight, value in items]
    keyed.sort(key=lambda entry: (-entry[0], entry[1]))
    return [value for _key, _item, value in keyed[:k]]


# --- Streams: one keyed hash per list, for draws over long sorted lists ----------
#
# Hashing every candidate separately costs more than reading it from the
# database (about 2 µs per HMAC in CPython), so the draws over long lists use
# a keyed *stream*: the documented keyed hash gives a stream key, and the
# SHAKE-256 extendable-output function (FIPS 202) expands it.
#
#     stream key:  k = HMAC-SHA256(key=seed, msg=label + ":stream" as UTF-8)
#     stream:      SHAKE-256(k), 8 bytes per number
#     number i:    bytes 8i .. 8i+7 as a big-endian integer, then step 2 above
#
# The i-th item of a list in its canonical (sorted) order gets number i.

_TWO_53 = float(2**53)


def _stream_words(seed: bytes, label: str, n: int) -> tuple[int, ...]:
    """The first ``n`` 64-bit words of the keyed stream."""
    if n <= 0:
        return ()
    key = hmac.new(seed, f"{label}:stream".encode(), hashlib.sha256).digest()
    return struct.unpack(f">{n}Q", hashlib.shake_256(key).digest(8 * n))


def _uniforms(words: Sequence[int]) -> Iterator[float]:
    # ((w >> 11) + 0.5) / 2**53, item by item, without a Python-level loop.
    shifted = map(operator.rshift, words, itertools.repeat(11))
    return map(operator.truediv, map(operator.add, shifted, itertools.repeat(0.5)), itertools.repeat(_TWO_53))


def keyed_uniforms(seed: bytes, label: str, n: int) -> list[float]:
    """``n`` numbers uniform in (0, 1) from the keyed stream of ``seed`` and ``label``."""
    return list(_uniforms(_stream_words(seed, label, n)))


def weighted_sample_sorted(
    seed: bytes, label: str, keys: Sequence[str], weights: Sequence[float], k: int
) -> list[int]:
    """Efraimidis–Spirakis over a sorted list, driven by the keyed stream.

    ``keys`` must be strictly increasing; item ``i`` gets number ``i`` of
    ``keyed_uniforms(seed, label, len(keys))`` and the sort key
    ``ln(u_i) / w_i``. Returns the indices of the ``k`` largest keys, in draw
    order (ties, practically impossible, by item key ascending).
    """
    n = len(keys)
    if len(weights) != n:
        raise ValueError("one weight per key")
    k = min(k, n)
    if k <= 0:
        return []
    if min(weights) <= 0:
        raise ValueError("weights must be positive")
    words = _stream_words(seed, label, n)
    shortcut = _sample_by_words(words, keys, weights, k)
    if shortcut is not None:
        return shortcut
    # ln(u) / -w is exactly -(ln(u) / w): the k smallest of these, ties by key.
    negated = map(operator.truediv, map(math.log, _uniforms(words)), map(operator.neg, weights))
    chosen = heapq.nsmallest(k, zip(negated, keys, range(n), strict=True))
    return [index for _key, _item, index in chosen]


def _largest(words: Sequence[int], m: int) -> list[int]:
    """Positions of the ``m`` largest words, largest first (uniform words: filter above a threshold)."""
    n = len(words)
    share = 4 * m
    while share < n:
        threshold = 2**64 - (2**64 // n) * share
        above = list(itertools.compress(range(n), map(threshold.__lt__, words)))
        if len(above) >= m:
            return sorted(above, key=words.__getitem__, reverse=True)[:m]
        share *= 4
    return sorted(range(n), key=words.__getitem__, reverse=True)[:m]


def _key(word: int, weight: float) -> float:
    return math.log(((word >> 11) + 0.5) / _TWO_53) / -weight


def _sample_by_words(
    words: Sequence[int], keys: Sequence[str], weights: Sequence[float], k: int
) -> list[int] | None:
    """The same result as computing every key, computing only a few (or None: do them all).

    Most items share one weight; among those the key grows with the stream
    word, so only the ``k + 1`` largest words of that weight can matter. The
    keys of those and of every item with another weight decide; the shortcut
    stands only if the best excluded item is strictly worse than the k-th
    chosen, so ties and rounding can never make it differ.
    """
    n = len(words)
    # Which weight counts as common changes only the cost, never the result.
    counts = Counter(weights)
    common, common_count = counts.most_common(1)[0]
    others: list[int] = []
    if common_count != n:
        others = list(itertools.compress(range(n), map(operator.ne, weights, itertools.repeat(common))))
    m = k + len(others) + 1
    if m >= n:
        return None
    top = _largest(words, m)
    largest = list(map(words.__getitem__, top))
    if len(set(largest)) < m:
        return None  # equal words: let the full computation order them
    # Positions whose word is below the m-th largest are excluded; the boundary is the
    # smallest chosen word among items of the common weight.
    boundary = [i for i in top if weights[i] == common][-1]
    decide = list({*top, *others})
    # The same arithmetic as _key, item by item, without a Python-level call per item.
    negated = map(
        operator.truediv,
        map(math.log, _uniforms(list(map(words.__getitem__, decide)))),
        map(operator.neg, map(weights.__getitem__, decide)),
    )
    chosen = sorted(zip(negated, map(keys.__getitem__, decide), decide, strict=True))[:k]
    if not chosen[-1][0] < _key(words[boundary], common):
        return None
    return [index for _key_value, _item, index in chosen]
