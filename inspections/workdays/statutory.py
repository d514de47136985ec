"""The statutory holidays of a year, as the law fixes them, before the year's notice is out.

The 全国年节及纪念日放假办法 (2024 revision) fixes the days every citizen has off:

- 元旦 1 January (1 day);
- 春节 除夕 to 正月初三 (4 days);
- 清明 the day of the 清明 solar term (1 day);
- 劳动节 1 and 2 May (2 days);
- 端午 五月初五 (1 day);
- 中秋 八月十五 (1 day);
- 国庆 1 to 3 October (3 days).

Its article 6 adds: a holiday for all citizens that falls on a Saturday or a
Sunday is made up on a working day (补假). Which day is the State Council's
choice in its yearly notice (放假安排), as are the weekends worked in exchange
for longer breaks (调休); before the notice, a make-up day is counted here as
the first weekday after the festival, which gives the year its right number of
working days (the exchanges of a notice move days about but add none).

Lunar dates and the solar term come from ``lunar_python`` (pure Python, with
the solar terms computed astronomically; the same library gives both). A year
it cannot compute gives ``None``: the calendar then counts weekends only.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from django.utils.translation import pgettext_lazy
from lunar_python import Lunar

D = dt.date

NEW_YEAR = pgettext_lazy("holiday", "New Year's Day (元旦)")
SPRING_FESTIVAL = pgettext_lazy("holiday", "Spring Festival (春节)")
QINGMING = pgettext_lazy("holiday", "Qingming (清明)")
LABOUR_DAY = pgettext_lazy("holiday", "Labour Day (劳动节)")
DRAGON_BOAT = pgettext_lazy("holiday", "Dragon Boat Festival (端午)")
MID_AUTUMN = pgettext_lazy("holiday", "Mid-Autumn Festival (中秋)")
NATIONAL_DAY = pgettext_lazy("holiday", "National Day (国庆)")
MAKE_UP = pgettext_lazy("holiday", "make-up day (补假)")

# The years the lunar library computes reliably; outside them, weekends only.
FIRST_YEAR, LAST_YEAR = 1901, 2099


def _solar(lunar: Lunar) -> dt.date:
    solar = lunar.getSolar()
    return D(solar.getYear(), solar.getMonth(), solar.getDay())


def _festivals(year: int) -> list[tuple[str, list[dt.date]]]:
    new_year = Lunar.fromYmd(year, 1, 1)
    eve = _solar(new_year.next(-1))  # 除夕: the last day of the old year (廿九 or 三十)
    qingming = new_year.getJieQiTable()["清明"]
    return [
        ("new_year", [D(year, 1, 1)]),
        ("spring_festival", [eve + dt.timedelta(days=n) for n in range(4)]),
        ("qingming", [D(qingming.getYear(), qingming.getMonth(), qingming.getDay())]),
        ("labour_day", [D(year, 5, 1), D(year, 5, 2)]),
        ("dragon_boat", [_solar(Lunar.fromYmd(year, 5, 5))]),
        ("mid_autumn", [_solar(Lunar.fromYmd(year, 8, 15))]),
        ("national_day", [D(year, 10, 1), D(year, 10, 2), D(year, 10, 3)]),
    ]


NAMES = {
    "new_year": NEW_YEAR,
    "spring_festival": SPRING_FESTIVAL,
    "qingming": QINGMING,
    "labour_day": LABOUR_DAY,
    "dragon_boat": DRAGON_BOAT,
    "mid_autumn": MID_AUTUMN,
    "national_day": NATIONAL_DAY,
    "make_up": MAKE_UP,
}


@lru_cache(maxsize=64)
def statutory_days_off(year: int) -> dict[dt.date, str] | None:
    """The days off of ``year`` the law fixes, each with its key in :data:`NAMES`; None if unknown.

    The statutory days themselves, and one make-up day (``make_up``) for each
    of them that falls on a weekend, on the first weekday after the festival
    that is not a day off already. Days of the festival that fall outside
    ``year`` (a 除夕 in the year before cannot: 春节 is late January at the
    earliest) are kept out.
    """
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    days: dict[dt.date, str] = {}
    festivals = _festivals(year)
    for key, festival in festivals:
        for day in festival:
            days.setdefault(day, key)
    for _key, festival in festivals:
        owed = sum(1 for day in festival if day.weekday() >= 5)
        day = max(festival)
        while owed:
            day += dt.timedelta(days=1)
            if day.weekday() < 5 and day not in days:
                days[day] = "make_up"
                owed -= 1
    return {day: key for day, key in sorted(days.items()) if day.year == year}


def statutory_day_name(key: str) -> str:
    """The display name of a key of :func:`statutory_days_off`, in the active language."""
    return str(NAMES[key])
