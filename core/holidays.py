"""Chinese public holidays and 调休 make-up working days (the ``chinesecalendar`` package).

The State Council publishes each year's holidays in the previous November or December;
``chinesecalendar`` ships them as data, so a year it does not cover yet (a new year
before the package is upgraded) falls back to plain weekdays — :func:`uncovered_years`
tells the application which years to warn about at start.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import chinese_calendar


@lru_cache(maxsize=64)
def covered(year: int) -> bool:
    """True when the package has the official holiday arrangement for ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def public_holiday(day: date) -> bool:
    """A statutory holiday (国庆, 春节 …) that is not worked, whatever the weekday."""
    if not covered(day.year):
        return False
    is_holiday, name = chinese_calendar.get_holiday_detail(day)
    return bool(is_holiday and name)


def makeup_workday(day: date) -> bool:
    """A Saturday or Sunday that is worked instead of a holiday (调休上班)."""
    return day.weekday() >= 5 and covered(day.year) and chinese_calendar.is_workday(day)


def uncovered_years(*years: int) -> list[int]:
    """The given years for which there are no holiday data (weekdays only are used for them)."""
    return [y for y in years if not covered(y)]
