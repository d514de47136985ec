"""Working days on China's statutory calendar, the fallback and the administrator's entries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from inspections.workdays.calendar import WorkingCalendar, add_working_days, working_days_between
from inspections.workdays.models import HolidayDate, HolidayYear
from inspections.workdays.statutory import statutory_days_off

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


def test_an_unannounced_year_counts_its_statutory_holidays_provisionally() -> None:
    with translation.override("en"):
        counted = add_working_days(D(2026, 12, 31), 3)
    with translation.override("zh-hans"):
        chinese = add_working_days(D(2026, 12, 31), 3)

    # 1 January 2027 is 元旦 by law, though the library does not know 2027 yet: 4, 5, 6 January
    assert counted.date == D(2027, 1, 6)
    assert counted.provisional and chinese.provisional
    assert "2027" in counted.warning
    assert "Provisional" in counted.warning
    assert "暂定" in counted.warning and "暂定" in chinese.warning  # said in both languages


def test_results_due_after_an_early_december_window_fall_after_new_years_day() -> None:
    # 20 working days after Tuesday 8 December 2026: weekends only gave 5 January 2027.
    counted = add_working_days(D(2026, 12, 8), 20)

    assert counted.date >= D(2027, 1, 6)
    assert counted.date == D(2027, 1, 6)
    assert counted.provisional


def test_a_long_deadline_across_the_spring_festival_of_an_unannounced_year_counts_its_days_off() -> None:
    # 60 working days from 1 December 2026: weekends only, 23 February 2027. The law takes off
    # 1 January, 除夕 5 February to 初三 8 February, and makes up the weekend two on 9 and 10 February.
    counted = add_working_days(D(2026, 12, 1), 60)

    assert counted.date == D(2027, 3, 2)
    assert working_days_between(D(2026, 12, 1), D(2027, 2, 23)) == 55


def test_the_statutory_days_off_of_2027() -> None:
    days = statutory_days_off(2027)

    assert days is not None
    assert {day: key for day, key in days.items() if key != "make_up"} == {
        D(2027, 1, 1): "new_year",
        D(2027, 2, 5): "spring_festival",  # 除夕
        D(2027, 2, 6): "spring_festival",  # 正月初一
        D(2027, 2, 7): "spring_festival",
        D(2027, 2, 8): "spring_festival",  # 初三
        D(2027, 4, 5): "qingming",  # the 清明 solar term
        D(2027, 5, 1): "labour_day",
        D(2027, 5, 2): "labour_day",
        D(2027, 6, 9): "dragon_boat",  # 五月初五
        D(2027, 9, 15): "mid_autumn",  # 八月十五
        D(2027, 10, 1): "national_day",
        D(2027, 10, 2): "national_day",
        D(2027, 10, 3): "national_day",
    }
    # Article 6: each statutory day on a weekend is made up on the next free weekday.
    assert sorted(day for day, key in days.items() if key == "make_up") == [
        D(2027, 2, 9),
        D(2027, 2, 10),
        D(2027, 5, 3),
        D(2027, 5, 4),
        D(2027, 10, 4),
        D(2027, 10, 5),
    ]


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_statutory_days_off_agree_with_the_notices_under_the_2024_law(year: int) -> None:
    """The years the library knows under the revised law: every statutory day is off in their
    notice, and the provisional year has as many working days as the notice gave."""
    days = statutory_days_off(year)
    assert days is not None
    library = WorkingCalendar()
    provisional = WorkingCalendar(admin_years={year}, admin_days={})  # weekends only, then:
    every_day = [D(year, 1, 1) + dt.timedelta(days=n) for n in range(365)]

    assert [d for d, key in days.items() if key != "make_up" and library.is_working_day(d)] == []
    assert sum(library.is_working_day(d) for d in every_day) == sum(
        provisional.is_working_day(d) and d not in days for d in every_day
    )


def test_a_year_past_what_the_lunar_library_computes_falls_back_to_weekends_with_a_warning() -> None:
    with translation.override("en"):
        counted = add_working_days(D(2099, 12, 31), 3)

    assert counted.date == D(2100, 1, 5)  # 1 January 2100 is a Friday, counted as worked
    assert "2100" in counted.warning
    assert "weekends only" in counted.warning


def test_a_calendar_shared_by_many_counts_warns_each_count_only_of_its_own_years() -> None:
    calendar = WorkingCalendar.load()

    into_2027 = add_working_days(D(2026, 12, 31), 3, calendar=calendar)
    within_2026 = add_working_days(D(2026, 3, 2), 5, calendar=calendar)

    assert "2027" in into_2027.warning
    assert within_2026.warning == ""
    assert not within_2026.provisional


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
