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
import hmac
import math
from collections.abc import Iterable
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
