"""A problem belongs to a submitted inspection, and the database holds to it (PostgreSQL and SQLite).

The lists of problems read the problems alone, without testing their
inspection's status: these triggers are what makes that safe.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from inspections.cases.models import Case, CaseStatus
from inspections.fieldwork.models import Inspection
from tests import builders

pytestmark = pytest.mark.django_db

OPENED = builders.at(2026, 3, 2, 9)


@pytest.fixture
def case() -> Case:
    return builders.case(builders.YUCUN, opened_at=OPENED, deadline=dt.date(2026, 3, 20))


def test_a_problem_of_an_unsubmitted_inspection_is_refused(case: Case) -> None:
    for status in (Inspection.Status.SCHEDULED, Inspection.Status.IN_PROGRESS, Inspection.Status.CANCELLED):
        visit = builders.inspection(village=builders.YUCUN, status=status)
        found = builders.finding(inspection=visit, category=case.category)
        with pytest.raises(IntegrityError, match="submitted inspection"), transaction.atomic():
            Case.objects.create(
                finding=found,
                inspection=visit,
                village=visit.village,
                category=case.category,
                severity=case.severity,
                status=CaseStatus.OPEN,
                opened_at=OPENED,
                deadline=case.deadline,
                deadline_from=case.deadline_from,
                deadline_working_days=10,
            )
        with pytest.raises(IntegrityError, match="submitted inspection"), transaction.atomic():
            Case.objects.filter(pk=case.pk).update(inspection=visit)
    assert Case.objects.count() == 1
    assert Case.objects.get().inspection_id == case.inspection_id


def test_a_submitted_inspection_with_problems_stays_submitted(case: Case) -> None:
    for status in (Inspection.Status.IN_PROGRESS, Inspection.Status.CANCELLED):
        with pytest.raises(IntegrityError, match="stays submitted"), transaction.atomic():
            Inspection.objects.filter(pk=case.inspection_id).update(status=status, submitted_at=None)
    assert Inspection.objects.get(pk=case.inspection_id).status == Inspection.Status.SUBMITTED
    # Its other fields may change; a problem may move to another submitted inspection.
    Inspection.objects.filter(pk=case.inspection_id).update(summary="复核")
    other = builders.inspection(village=builders.YUCUN, status=Inspection.Status.SUBMITTED)
    Case.objects.filter(pk=case.pk).update(inspection=other)


def test_a_submitted_inspection_without_problems_may_still_be_corrected() -> None:
    visit = builders.inspection(village=builders.YUCUN, status=Inspection.Status.SUBMITTED)
    Inspection.objects.filter(pk=visit.pk).update(status=Inspection.Status.IN_PROGRESS, submitted_at=None)
    assert Inspection.objects.get(pk=visit.pk).status == Inspection.Status.IN_PROGRESS
    assert visit.submitted_at is not None and visit.submitted_at <= timezone.now()
