"""Working days on China's statutory calendar.

Weekends are off, statutory holidays are off and adjusted working weekends
(调休) are on. Which calendar decides a year, in order:

1. the administrator's entries for that year (:class:`HolidayYear`), when the
   year's notice (放假安排) has been entered: they take precedence;
2. the ``chinese_calendar`` library, for the years it knows;
3. provisionally (暂定), the statutory holidays the law fixes for every year
   (:mod:`inspections.workdays.statutory`), with a warning that says so;
4. weekends only, for a year even that cannot be computed, with a warning.

The library is maintained against the State Council's yearly notices; a year
is announced each November or December, so deadlines that run into the next
year are provisional until the library (or an administrator) knows it. A count
that used a provisional or guessed year carries a warning
(:attr:`WorkingDays.warning`) naming the year; the deadlines and due dates
carrying it are recounted when the year's notice is entered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import chinese_calendar
from django.utils.translation import gettext

from inspections.workdays.models import HolidayDate, HolidayYear
from inspections.workdays.statutory import statutory_days_off

# Longest span one count may walk: far beyond any deadline, guards a bad input.
MAX_SPAN_DAYS = 3660


@dataclass
class WorkingCalendar:
    """A calendar loaded for one count: admin entries first, then the library."""

    admin_years: set[int] = field(default_factory=set)
    admin_days: dict[dt.date, bool] = field(default_factory=dict)
    fallback_years: set[int] = field(default_factory=set)
    provisional_years: set[int] = field(default_factory=set)

    @classmethod
    def load(cls) -> WorkingCalendar:
        # Two small queries; the entries are a few dozen rows per entered year.
        years = set(HolidayYear.objects.values_list("year", flat=True))
        days = dict(
            HolidayDate.objects.filter(calendar_year__year__in=years).values_list("date", "is_working_day")
        )
        return cls(admin_years=years, admin_days=days)

    def is_working_day(self, day: dt.date) -> bool:
        if day.year in self.admin_years:
            if day in self.admin_days:
                return self.admin_days[day]
            return day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            pass
        # The library does not know this year yet: the statutory holidays, provisionally.
        statutory = statutory_days_off(day.year)
        if statutory is None:
            self.fallback_years.add(day.year)  # not even those: weekends only, and say so
            return day.weekday() < 5
        self.provisional_years.add(day.year)
        return day.weekday() < 5 and day not in statutory

    @property
    def warning(self) -> str:
        """The warning of every year this calendar had to guess so far."""
        return self.warning_for(self.provisional_years | self.fallback_years)

    def warning_for(self, years_used: set[int]) -> str:
        """The warning of a count that walked through ``years_used``: empty if none was guessed."""
        parts = []
        provisional = years_used & self.provisional_years
        fallback = years_used & self.fallback_years
        if provisional:
            years = ", ".join(str(year) for year in sorted(provisional))
            parts.append(
                gettext(
                    "Provisional (暂定): the holidays of %(years)s are counted from the statutory holidays "
                    "until that year's notice is entered; the count is then redone."
                )
                % {"years": years}
            )
        if fallback:
            years = ", ".join(str(year) for year in sorted(fallback))
            parts.append(
                gettext(
                    "The holiday calendar for %(years)s is not known yet: counted weekends only. "
                    "An administrator can enter that year's holidays and working weekends."
                )
                % {"years": years}
            )
        return " ".join(parts)


@dataclass(frozen=True)
class WorkingDays:
    """The result of a count: the day reached and a warning if a year was provisional or guessed."""

    date: dt.date
    warning: str

    @property
    def provisional(self) -> bool:
        """The day may move when a year's notice is entered (暂定): the warning says which year."""
        return bool(self.warning)


def add_working_days(start: dt.date, days: int, *, calendar: WorkingCalendar | None = None) -> WorkingDays:
    """The ``days``-th working day after ``start`` (``start`` itself not counted).

    A deadline of 10 working days for a case opened on Friday 24 January 2025
    is Thursday 13 February 2025: Sunday 26 January is an adjusted working day,
    28 January to 4 February is the Spring Festival holiday, Saturday 8
    February is worked.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    calendar = calendar or WorkingCalendar.load()
    day = start
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if (day - start).days > MAX_SPAN_DAYS:
            raise ValueError("working-day count ran past ten years")
        if calendar.is_working_day(day):
            counted += 1
    # Only the years this count walked through: a calendar shared by many counts warns each of its own.
    return WorkingDays(date=day, warning=calendar.warning_for(set(range(start.year, day.year + 1))))


def working_days_between(start: dt.date, end: dt.date, *, calendar: WorkingCalendar | None = None) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if ``end <= start``)."""
    calendar = calendar or WorkingCalendar.load()
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            count += 1
    return count


def year_is_known(year: int) -> bool:
    """Whether ``year``'s notice is known: entered by an administrator or in the calendar library."""
    if HolidayYear.objects.filter(year=year).exists():
        return True
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True
