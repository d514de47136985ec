"""Working days on China's statutory calendar, the fallback and the administrator's entries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import translation

from inspections.cases.models import CaseEvent
from inspections.workdays.calendar import add_working_days, working_days_between
from inspections.workdays.models import HolidayDate, HolidayYear
from tests.builders import open_case, user

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Spring Festival 2025: 26 Jan (Sun) worked, 28 Jan–4 Feb off, 8 Feb (Sat) worked
        (D(2025, 1, 24), 1, D(2025, 1, 26)),
        (D(2025, 1, 24), 2, D(2025, 1, 27)),
        (D(2025, 1, 24), 3, D(2025, 2, 5)),
        (D(2025, 1, 24), 10, D(2025, 2, 13)),
        # National Day and Mid-Autumn 2025: 28 Sep (Sun) worked, 1–8 Oct off, 11 Oct (Sat) worked
        (D(2025, 9, 26), 1, D(2025, 9, 28)),
        (D(2025, 9, 26), 5, D(2025, 10, 10)),
        (D(2025, 9, 26), 6, D(2025, 10, 11)),
        # Spring Festival 2026: 14 Feb (Sat) worked, 15–23 Feb off, 28 Feb (Sat) worked
        (D(2026, 2, 13), 1, D(2026, 2, 14)),
        (D(2026, 2, 13), 3, D(2026, 2, 25)),
        (D(2026, 2, 26), 2, D(2026, 2, 28)),
        # National Day 2026: 1–7 Oct off, 10 Oct (Sat) worked
        (D(2026, 9, 30), 2, D(2026, 10, 9)),
        (D(2026, 9, 30), 3, D(2026, 10, 10)),
        # an ordinary week
        (D(2025, 3, 7), 5, D(2025, 3, 14)),
    ],
)
def test_it_counts_known_deadlines(start: dt.date, days: int, expected: dt.date) -> None:
    counted = add_working_days(start, days)

    assert counted.date == expected
    assert counted.warning == ""


def test_it_counts_working_days_between_two_dates() -> None:
    assert working_days_between(D(2025, 1, 24), D(2025, 2, 13)) == 10
    assert working_days_between(D(2025, 2, 13), D(2025, 1, 24)) == 0


def test_an_unknown_year_falls_back_to_weekends_with_a_warning() -> None:
    with translation.override("en"):
        counted = add_working_days(D(2026, 12, 31), 3)
    with translation.override("zh-hans"):
        chinese = add_working_days(D(2026, 12, 31), 3)

    # 1 January 2027 counted as a working day: the library does not know 2027 yet
    assert counted.date == D(2027, 1, 5)
    assert "2027" in counted.warning
    assert "weekends only" in counted.warning
    assert "仅按周末计算" in chinese.warning


def test_the_administrators_entries_take_precedence_once_given() -> None:
    year = HolidayYear.objects.create(year=2027, note="国务院办公厅通知")
    HolidayDate.objects.create(calendar_year=year, date=D(2027, 1, 1), name="元旦")
    HolidayDate.objects.create(calendar_year=year, date=D(2027, 1, 9), is_working_day=True, name="调休")

    counted = add_working_days(D(2026, 12, 31), 3)
    more = add_working_days(D(2026, 12, 31), 7)

    assert counted.date == D(2027, 1, 6)  # 4, 5, 6 January; the 1st is a holiday
    assert counted.warning == ""
    assert more.date == D(2027, 1, 11)  # … 7, 8, 9 (worked Saturday), 11


def test_administrators_entries_override_the_library_for_a_known_year() -> None:
    year = HolidayYear.objects.create(year=2025)
    HolidayDate.objects.create(calendar_year=year, date=D(2025, 3, 10), name="地方假日")

    assert add_working_days(D(2025, 3, 7), 1).date == D(2025, 3, 11)


def test_a_fallback_deadline_is_recounted_when_the_year_is_entered(settings) -> None:  # type: ignore[no-untyped-def]
    from tests.builders import at

    case = open_case(submitted_at=at(2026, 12, 31, 10), now=at(2026, 12, 31, 10), category_days=3)
    assert case.deadline == D(2027, 1, 5)
    assert "2027" in case.deadline_warning
    client = Client()
    client.force_login(user(is_superuser=True, is_staff=True))

    response = client.post(
        "/admin/inspections/holidayyear/add/",
        {
            "year": "2027",
            "note": "",
            "dates-TOTAL_FORMS": "1",
            "dates-INITIAL_FORMS": "0",
            "dates-MIN_NUM_FORMS": "0",
            "dates-MAX_NUM_FORMS": "1000",
            "dates-0-date": "2027-01-01",
            "dates-0-name": "元旦",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert case.deadline == D(2027, 1, 6)
    assert case.deadline_warning == ""
    event = case.events.order_by("-seq").first()
    assert event is not None and event.kind == CaseEvent.Kind.DEADLINE
    assert event.evidence == {"from": "2027-01-05", "to": "2027-01-06", "calendar_year": 2027}
