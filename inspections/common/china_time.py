"""The one definition of "today in China": China Standard Time, UTC+8, no daylight saving.

Deadlines, periods and windows are counted in China's calendar days whatever
the server's time zone; every aware moment is converted here, never by hand.
"""

from __future__ import annotations

import datetime as dt

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def local_date(moment: dt.datetime) -> dt.date:
    """The date in China of an aware moment."""
    return moment.astimezone(SHANGHAI).date()


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of ``day`` in China (aware)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)


def day_end(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` in China: days are half-open, ``[day_start, day_end)``."""
    return day_start(day + dt.timedelta(days=1))


def display(moment: dt.datetime | None, empty: str = "—") -> str:
    """An aware moment as people read it: China time to the minute (``2026-12-02 06:30``)."""
    if moment is None:
        return empty
    return f"{moment.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
