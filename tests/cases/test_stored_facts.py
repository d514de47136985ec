"""A problem's village code and first rectification day, kept by the database (migration 0033).

The workbench counts problems by area and their on-time rate from these two
columns instead of joining every problem to its village and looking up its
rectifications. The database writes them whatever the application saves; each
test reads them back from the database, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest

from inspections.cases.models import Case, Rectification
from tests.builders import ANJI, at, case, user, village

pytestmark = pytest.mark.django_db

YUCUN = f"{ANJI}108204"
OTHER = f"{ANJI}101201"


def stored(problem: Case) -> tuple[str, dt.date | None]:
    return Case.objects.values_list("village_code", "first_rectified_on").get(pk=problem.pk)


def rectify(problem: Case, when: dt.datetime) -> Rectification:
    rectification = Rectification.objects.create(case=problem, submitted_by=user(), description="已清理")
    Rectification.objects.filter(pk=rectification.pk).update(created_at=when)
    return rectification


def test_a_new_problem_holds_its_villages_code_and_no_rectification_day() -> None:
    problem = case(YUCUN, opened_at=at(2025, 3, 1, 9), deadline=dt.date(2025, 3, 14))

    assert stored(problem) == (YUCUN, None)
    assert problem.village_code == ""  # the instance just saved does not know it: queries only


def test_the_first_rectifications_day_in_china_is_kept_and_a_later_one_changes_nothing() -> None:
    problem = case(YUCUN, opened_at=at(2025, 3, 1, 9), deadline=dt.date(2025, 3, 14))

    rectify(problem, at(2025, 3, 14, 0, 30))  # 16:30 UTC on the 13th: the 14th in China
    assert stored(problem) == (YUCUN, dt.date(2025, 3, 14))

    rectify(problem, at(2025, 3, 20, 9))
    assert stored(problem)[1] == dt.date(2025, 3, 14)


def test_a_rectification_dated_earlier_or_moved_to_another_problem_is_followed() -> None:
    first = case(YUCUN, opened_at=at(2025, 3, 1, 9), deadline=dt.date(2025, 3, 14))
    second = case(OTHER, opened_at=at(2025, 3, 1, 9), deadline=dt.date(2025, 3, 14))
    rectification = rectify(first, at(2025, 3, 12, 9))

    Rectification.objects.filter(pk=rectification.pk).update(created_at=at(2025, 3, 10, 23, 59))
    assert stored(first)[1] == dt.date(2025, 3, 10)

    Rectification.objects.filter(pk=rectification.pk).update(case=second)
    assert (stored(first)[1], stored(second)[1]) == (None, dt.date(2025, 3, 10))


def test_saving_a_stale_instance_does_not_undo_what_the_database_keeps() -> None:
    problem = case(YUCUN, opened_at=at(2025, 3, 1, 9), deadline=dt.date(2025, 3, 14))
    stale = Case.objects.get(pk=problem.pk)  # read before the rectification
    rectify(problem, at(2025, 3, 13, 15))

    stale.review_note = "复核"
    stale.save()  # every column, the two stored facts' old values among them

    assert stored(problem) == (YUCUN, dt.date(2025, 3, 13))


def test_a_change_of_village_or_of_a_villages_code_reaches_its_problems() -> None:
    problem = case(YUCUN, opened_at=at(2025, 3, 1, 9), deadline=dt.date(2025, 3, 14))

    Case.objects.filter(pk=problem.pk).update(village=village(OTHER))
    assert stored(problem)[0] == OTHER

    recoded = f"{ANJI}101299"
    type(problem.village).objects.filter(code=OTHER).update(code=recoded)
    assert stored(problem)[0] == recoded
