"""TODO docstring."""

from __future__ import annotations

import datetime as dt

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def local_date(moment: dt.datetime) -> dt.date:
    """The date in China (UTC+8, no daylight saving) of an aware moment."""
    return moment.astimezone(SHANGHAI).date()
