"""The one shape of an evidence flag: a stable code and the facts behind it.

    {"code": "far_from_finding", "params": {"photo": "<uuid>", "distance_m": 312}}

Flags are stored (and computed) as data only, never as a sentence: each concern
explains its codes when a flag is read, in the reader's language (photos in
``evidence.flags``, check-ins in ``fieldwork.flags``, after-photos in
``cases.flags``). Values are JSON: strings, numbers, booleans, lists.
"""

from __future__ import annotations

from typing import Any


def flag(code: str, **params: Any) -> dict[str, Any]:
    """One flag: ``code`` and its facts."""
    return {"code": code, "params": params}


def flag_params(stored: dict[str, Any]) -> dict[str, Any]:
    """The facts of a stored flag.

    Rectification flags written before the shared shape kept their facts beside the
    code (and a sentence translated when written, ``detail``, which is not a fact).
    """
    if "params" in stored:
        return dict(stored["params"])
    return {key: value for key, value in stored.items() if key not in ("code", "detail")}
