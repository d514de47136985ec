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
import math
import operator
import struct
from collections.abc import Iterable, Sequence
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


# --- Streams: many uniforms per HMAC, for draws over long sorted lists --------
#
# Hashing every candidate separately costs more than reading it from the
# database (about 2 µs per HMAC in CPython), so the draws over long lists use
# a keyed *stream*: HMAC-SHA256 in counter mode, four uniforms per HMAC.
#
#     block b:  d_b = HMAC-SHA256(key=seed, msg=label + ":" + str(b) as UTF-8)
#     number i: the 8-byte big-endian word i mod 4 of d_(i div 4), then step 2 above
#
# Number 0 is ``keyed_uniform(seed, label, "0")``. The i-th item of a list in
# its canonical (sorted) order gets number i.

_WORDS = struct.Struct(">4Q")
_TWO_53 = float(2**53)


def keyed_uniforms(seed: bytes, label: str, n: int) -> list[float]:
    """``n`` numbers uniform in (0, 1) from the keyed stream of ``seed`` and ``label``."""
    if n <= 0:
        return []
    # HMAC with the key's inner and outer states computed once (RFC 2104),
    # then copied per block: the same digests as hmac.new, three times faster.
    mac = hmac.new(seed, f"{label}:".encode(), hashlib.sha256)
    words: list[int] = []
    extend = words.extend
    unpack = _WORDS.unpack
    for block in range((n + 3) // 4):
        h = mac.copy()
        h.update(str(block).encode())
        extend(unpack(h.digest()))
    del words[n:]
    return [((w >> 11) + 0.5) / _TWO_53 for w in words]


def weighted_sample_sorted(
    seed: bytes, label: str, keys: Sequence[str], weights: Sequence[float], k: int
) -> list[int]:
    """Efraimidis–Spirakis over a sorted list, driven by the keyed stream.

    ``keys`` must be strictly increasing; item ``i`` gets number ``i`` of
    ``keyed_uniforms(seed, label, len(keys))`` and the sort key
    ``ln(u_i) / w_i``. Returns the indices of the ``k`` largest keys, in draw
    order (ties, practically impossible, by item key ascending).
    """
    if any(w <= 0 for w in weights):
        raise ValueError("weights must be positive")
    if len(keys) != len(weights):
        raise ValueError("one weight per key")
    uniforms = keyed_uniforms(seed, label, len(keys))
    # ln(u) / -w is exactly -(ln(u) / w): the k smallest of these, ties by key.
    negated = list(map(operator.truediv, map(math.log, uniforms), map(operator.neg, weights)))
    chosen = heapq.nsmallest(k, zip(negated, keys, range(len(keys)), strict=True))
    return [index for _key, _item, index in chosen]
