"""Builders shared by the sampling tests: a small region, a roster and plans."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from inspections.accounts.models import Inspector, User
from inspections.sampling.models import SamplingPlan
from tests.factories import division, inspector, supervisor, village

# Three counties of Huzhou, four villagers' committees each and one residents' committee.
COUNTIES = ["330521", "330522", "330523"]


def region() -> list[str]:
    codes = []
    for county in COUNTIES:
        for n in range(4):
            codes.append(village(f"{county}101{200 + n:03d}").code)
        village(f"{county}101001")  # a residents' committee
    return codes


def roster(per_county: int = 2, **fields: Any) -> list[Inspector]:
    return [
        inspector(home_division=division(county), credential_number=f"ZJ-{county}-{n}", **fields)
        for county in COUNTIES
        for n in range(per_county)
    ]


def organiser() -> User:
    return supervisor("3305")


def plan(by: User | None = None, **fields: Any) -> SamplingPlan:
    by = by or organiser()
    start = timezone.now() + timedelta(days=3)
    values: dict[str, Any] = {
        "name": "2025年第一批双随机抽查",
        "scope": division("3305"),
        "window_start": start,
        "window_end": start + timedelta(days=5),
        "sample_size": 3,
        "excluded_kinds": ["residents"],
        "created_by": by,
        **fields,
    }
    created = SamplingPlan.objects.create(**values)
    created.organisers.add(by)
    return created
