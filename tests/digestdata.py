"""Compatibility re-exports: the builders are in ``tests/builders.py`` (import them from there)."""

from __future__ import annotations

import datetime as dt

from inspections.common.china_time import SHANGHAI
from inspections.fieldwork.models import Inspection
from tests import builders
from tests.builders import (
    ANJI,
    ANJI_OTHER,
    DEQING,
    DEQING_VILLAGE,
    HUZHOU,
    MONDAY,
    YUCUN,
    at,
    case,
    category,
    county_activity,
    recipient,
)

__all__ = [
    "ANJI",
    "ANJI_OTHER",
    "DEQING",
    "DEQING_VILLAGE",
    "HUZHOU",
    "MONDAY",
    "SHANGHAI",
    "YUCUN",
    "at",
    "case",
    "category",
    "county_activity",
    "inspection",
    "recipient",
]


def inspection(
    village_code: str,
    *,
    window_start: dt.datetime,
    window_end: dt.datetime | None = None,
    status: str = Inspection.Status.SUBMITTED,
    submitted_at: dt.datetime | None = None,
) -> Inspection:
    """``builders.inspection(village=code, mode="random", status=..., window_end=<a day later>, ...)``."""
    return builders.inspection(
        village=village_code,
        mode=Inspection.Mode.RANDOM,
        status=status,
        window_start=window_start,
        window_end=window_end or window_start + dt.timedelta(days=1),
        submitted_at=submitted_at if status == Inspection.Status.SUBMITTED else None,
    )
