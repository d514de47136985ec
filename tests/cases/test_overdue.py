"""Overdue: one rule, ``overdue_condition``, read as a queryset and for one loaded case."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from inspections.cases.models import Case, CaseStatus
from tests.builders import force_status, open_case

pytestmark = pytest.mark.django_db

TODAY = dt.date(2025, 3, 10)


@pytest.mark.parametrize(
    ("status", "deadline"),
    list(
        itertools.product(
            CaseStatus.values, [TODAY - dt.timedelta(days=1), TODAY, TODAY + dt.timedelta(days=1)]
        )
    ),
)
def test_the_queryset_and_the_loaded_case_agree_on_overdue(status: str, deadline: dt.date) -> None:
    case = force_status(open_case(), status, deadline=deadline)

    in_query = Case.objects.overdue(TODAY).filter(pk=case.pk).exists()
    out_of_query = Case.objects.not_overdue(TODAY).filter(pk=case.pk).exists()

    assert in_query == case.is_overdue(TODAY) != out_of_query
    assert in_query == (deadline < TODAY and status in ("open", "rectifying", "reopened"))
