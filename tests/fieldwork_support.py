"""Compatibility re-exports: the builders are in ``tests/builders.py`` (import them from there)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inspections.accounts.models import Inspector
from inspections.fieldwork.models import Inspection
from tests import builders
from tests.builders import PHOTOS as FIXTURES
from tests.builders import (
    YUCUN_WGS84,
    camera_jpeg,
    category,
    confirmed_village,
    dms,
    fixture_bytes,
    fresh_uuid,
    picture,
    process_all,
    upload,
)
from tests.builders import flag_codes as codes
from tests.builders import inspector as team_member
from tests.conftest import isolated_storage, wsgi_server
from villages.models import Village

__all__ = [
    "FIXTURES",
    "YUCUN_WGS84",
    "camera_jpeg",
    "category",
    "codes",
    "confirmed_village",
    "dms",
    "fixture_bytes",
    "fresh_uuid",
    "isolated_storage",
    "make_inspection",
    "picture",
    "process_all",
    "team_member",
    "upload",
    "wsgi_server",
]


def make_inspection(
    *,
    team: list[Inspector] | None = None,
    village_obj: Village | None = None,
    start: datetime | None = None,
    hours: int = 8,
    **fields: Any,
) -> Inspection:
    """``builders.inspection(team=, village=, window_start=, hours=, ...)``."""
    return builders.inspection(team=team, village=village_obj, window_start=start, hours=hours, **fields)
