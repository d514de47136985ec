"""Compatibility re-exports: the builders are in ``tests/builders.py`` (import them from there)."""

from __future__ import annotations

from typing import Any, cast

from inspections.checklist.models import ProblemCategory
from inspections.common.china_time import SHANGHAI
from tests import builders
from tests.builders import YUCUN, at, events_of, force_status, open_case, submitted_inspection, verifiers
from tests.conftest import eager_celery
from tests.conftest import static_without_manifest as plain_static

__all__ = [
    "SHANGHAI",
    "YUCUN",
    "at",
    "category",
    "eager_celery",
    "events_of",
    "force_status",
    "open_case",
    "plain_static",
    "submitted_inspection",
    "verifiers",
]


def category(**fields: Any) -> ProblemCategory:
    """``builders.category``; without a ``code``, a category of its own (a fresh code)."""
    if "code" not in fields:
        return cast(ProblemCategory, builders.ProblemCategoryFactory(**fields))
    return builders.category(**fields)
