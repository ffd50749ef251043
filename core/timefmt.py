"""Showing times to people: local time (LINLI_TIMEZONE, default Asia/Shanghai), in the words an
elder would use (「明天下午1点半」, 「12月5日上午9点」), never 「12-05 13:24」."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"
_zone = ZoneInfo(DEFAULT_ZONE)


def use_zone(name: str) -> None:
    """Make ``name`` (an IANA zone, LINLI_TIMEZONE in the settings) the local time of this process.

    Called wherever settings are loaded (the runtime, every ``linli`` command); core reads no
    environment itself. Raises ``zoneinfo.ZoneInfoNotFoundError`` for an unknown zone."""
    global _zone
    _zone = ZoneInfo(name)


def local(dt: datetime) -> datetime:
    """``dt`` in local time (see :func:`use_zone`)."""
    return dt.astimezone(_zone)


def local_short(dt: datetime) -> str:
    """``11-26 14:05`` in local time (tables in the console, not sentences)."""
    return local(dt).strftime("%m-%d %H:%M")


_DAYS = {-1: "昨天", 0: "今天", 1: "明天", 2: "后天"}


def _period(hour: int) -> tuple[str, int]:
    """凌晨/早上/上午/中午/下午/晚上 and the hour on a 12-hour clock."""
    if hour < 6:
        return "凌晨", hour
    if hour < 9:
        return "早上", hour
    if hour < 12:
        return "上午", hour
    if hour < 13:
        return "中午", hour
    if hour < 18:
        return "下午", hour - 12
    return "晚上", hour - 12


def spoken(dt: datetime, now: datetime, *, deadline: bool = False) -> str:
    """``dt`` as said aloud, relative to ``now``: 「今天上午9点05分」, 「明天下午1点半」, 「12月5日晚上8点」.

    ``deadline``: rounded down to the half hour (「下午1点半」 for 13:44), so the time read out is
    never later than the real one."""
    when, today = local(dt), local(now).date()
    if deadline:
        when = when.replace(minute=when.minute - when.minute % 30, second=0, microsecond=0)
    offset = (when.date() - today).days
    if offset in _DAYS:
        day = _DAYS[offset]
    elif when.year == today.year:
        day = f"{when.month}月{when.day}日"
    else:
        day = f"{when.year}年{when.month}月{when.day}日"
    period, hour = _period(when.hour)
    minutes = "" if when.minute == 0 else "半" if when.minute == 30 else f"{when.minute:02d}分"
    return f"{day}{period}{hour}点{minutes}"


def spoken_deadline(dt: datetime, now: datetime) -> str:
    """A deadline in a sentence: 「12月5日下午1点半前」."""
    return spoken(dt, now, deadline=True) + "前"



def duration(seconds: float | None) -> str:
    """A span of time in the unit that fits: 「40 秒」, 「3 分钟」, 「2.5 小时」, 「3.2 天」 (「—」 for none)."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{max(0, round(seconds))} 秒"
    if seconds < 3600:
        return f"{round(seconds / 60)} 分钟"
    if seconds < 86400 * 2:
        hours = seconds / 3600
        return f"{hours:.0f} 小时" if hours >= 10 else f"{hours:.1f} 小时"
    return f"{seconds / 86400:.1f} 天"
