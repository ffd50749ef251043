"""Working-hours calendars for SLA deadlines: 「5个工作日」 counts only office time.

A calendar is a set of weekdays with one daily opening (local time, LINLI_TIMEZONE).
With ``holidays: china`` (the default) Chinese public holidays are not worked and the
调休 make-up Saturdays and Sundays are (core/holidays.py); ``holidays: none`` ignores them.
With a calendar, a duration's whole days are working days (same time of day on the
n-th working day after) and the rest is counted in working minutes. Without one (the
default, and for emergencies) deadlines are wall-clock: 24/7.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from core import holidays as cn_holidays
from core.timefmt import local

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class WorkingHours:
    weekdays: frozenset[int]  # 0 = Monday
    opens: time
    closes: time
    china_holidays: bool = True  # public holidays off, 调休 weekends on

    def _is_workday(self, dt: datetime) -> bool:
        day = dt.date()
        if self.china_holidays:
            if cn_holidays.public_holiday(day):
                return False
            if cn_holidays.makeup_workday(day):
                return True
        return dt.weekday() in self.weekdays

    def _snap(self, dt: datetime) -> datetime:
        """The moment itself if within working hours, else the next opening."""
        while True:
            if self._is_workday(dt):
                opening = dt.replace(hour=self.opens.hour, minute=self.opens.minute, second=0, microsecond=0)
                closing = dt.replace(hour=self.closes.hour, minute=self.closes.minute, second=0, microsecond=0)
                if dt < opening:
                    return opening
                if dt < closing:
                    return dt
            dt = (dt + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """``start`` plus ``duration`` of working time: whole days are working days, the rest office minutes."""
        tz = start.tzinfo
        dt = self._snap(local(start))
        for _ in range(duration.days):  # the same time of day on the next working day
            dt += timedelta(days=1)
            while not self._is_workday(dt):
                dt += timedelta(days=1)
        remaining = timedelta(seconds=duration.seconds, microseconds=duration.microseconds)
        while remaining > timedelta(0):
            closing = dt.replace(hour=self.closes.hour, minute=self.closes.minute, second=0, microsecond=0)
            step = min(remaining, closing - dt)
            dt += step
            remaining -= step
            if remaining > timedelta(0):
                dt = self._snap(closing + timedelta(seconds=1))
        return dt.astimezone(tz)

    def subtract(self, end: datetime, duration: timedelta) -> datetime:
        """Where a round of ``duration`` ending at ``end`` started: the inverse of :meth:`add`.

        A round whose request came outside working hours counts from the opening it waited for.
        """
        tz = end.tzinfo
        dt = local(end)
        remaining = timedelta(seconds=duration.seconds, microseconds=duration.microseconds)
        while remaining > timedelta(0):
            opening = dt.replace(hour=self.opens.hour, minute=self.opens.minute, second=0, microsecond=0)
            step = min(remaining, dt - opening)
            dt -= step
            remaining -= step
            if remaining > timedelta(0):  # carry on from the previous working day's closing
                dt -= timedelta(days=1)
                while not self._is_workday(dt):
                    dt -= timedelta(days=1)
                dt = dt.replace(hour=self.closes.hour, minute=self.closes.minute, second=0, microsecond=0)
        for _ in range(duration.days):
            dt -= timedelta(days=1)
            while not self._is_workday(dt):
                dt -= timedelta(days=1)
        return dt.astimezone(tz)


def parse_clock(text: str) -> time | None:
    """``08:30`` → time(8, 30); None when it is not a 24-hour clock time."""
    match = _CLOCK.match(text.strip())
    return time(int(match[1]), int(match[2])) if match else None


def parse_working_hours(spec: dict[str, Any]) -> WorkingHours:
    """``{days: mon-fri, hours: "08:30-17:30", holidays: china}`` → WorkingHours; ValueError says what is wrong."""
    days_text = str(spec.get("days", "mon-fri")).lower().replace(" ", "")
    weekdays: set[int] = set()
    for part in days_text.split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ValueError(f"working hours: days {days_text!r} is not understood; write it like mon-fri or mon-fri,sat")
        a, b = _DAYS.index(first), _DAYS.index(last or first)
        weekdays.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    hours = str(spec.get("hours", "08:30-17:30")).replace(" ", "")
    opens_text, _, closes_text = hours.partition("-")
    opens, closes = parse_clock(opens_text), parse_clock(closes_text)
    if not (opens and closes):
        raise ValueError(f"working hours: hours {hours!r} is not understood; write it like 08:30-17:30")
    if opens >= closes:
        raise ValueError(f"working hours: {hours!r} closes before it opens")
    holidays = str(spec.get("holidays", "china")).strip().lower()
    if holidays not in ("china", "none"):
        raise ValueError(f"working hours: holidays {holidays!r} is not understood; write china (public holidays and 调休) or none")
    return WorkingHours(frozenset(weekdays), opens, closes, holidays == "china")
