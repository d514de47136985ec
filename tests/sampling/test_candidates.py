"""Candidates' weights and the case counts they read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from inspections.cases.models import CaseStatus
from inspections.sampling.candidates import candidate_weight, village_case_counts
from tests.builders import force_status, open_case, plan

pytestmark = pytest.mark.django_db


def weighted_plan():  # type: ignore[no-untyped-def]
    return plan(base_weight=1, open_cases_weight="0.5", overdue_cases_weight="1.5", staleness_weight=2)


def test_it_weights_by_base_cases_and_staleness() -> None:
    the_plan = weighted_plan()

    # 1 + 0.5 × 2 + 1.5 × 1 + 2 × 30 / 365
    weight = candidate_weight(the_plan, open_cases=2, overdue_cases=1, days_since=30)

    assert weight == Decimal("3.664384")


def test_it_counts_a_village_never_inspected_as_stale_as_the_cap() -> None:
    the_plan = weighted_plan()

    never = candidate_weight(the_plan, open_cases=0, overdue_cases=0, days_since=None)
    long_ago = candidate_weight(the_plan, open_cases=0, overdue_cases=0, days_since=10_000)

    assert never == long_ago == Decimal("3.000000")


def test_it_counts_open_and_overdue_cases_per_village_leaving_closed_ones_out() -> None:
    overdue = open_case()  # deadline 10 days after opening
    open_case()
    force_status(open_case(), CaseStatus.CLOSED)
    late = overdue.deadline + dt.timedelta(days=1)

    on_time = village_case_counts(prefix="3305", today=overdue.deadline)
    after = village_case_counts(prefix="3305", today=late)
    elsewhere = village_case_counts(prefix="3306", today=late)

    assert on_time == {overdue.village_id: (2, 0)}
    assert after == {overdue.village_id: (2, 2)}
    assert elsewhere == {}
