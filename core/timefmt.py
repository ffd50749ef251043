"""Showing times to people: local time (LINLI_TIMEZONE, default Asia/Shanghai), short forms."""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(dt: datetime) -> datetime:
    return dt.astimezone(_zone(os.environ.get("LINLI_TIMEZONE", "Asia/Shanghai")))


def local_short(dt: datetime) -> str:
    """``11-26 14:05`` in local time."""
    return local(dt).strftime("%m-%d %H:%M")
