"""Fixed-window counters in the database: how many times a key (a client address, a room …) was
used in the current window, shared by every instance.

One statement claims an attempt and returns the new count (an upsert with RETURNING), so
parallel requests can never read the same count and both pass; a caller whose attempt turned
out harmless may give it back with :func:`refund`. Rows of past windows are deleted by the
first claim of a new window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from core.console_models import RateCounter


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim: allowed, the count in this window, and seconds until it ends."""

    allowed: bool
    count: int
    retry_after: int


def _window(now: datetime, seconds: int) -> tuple[int, int]:
    """The window's start (epoch seconds) and the whole seconds until the next one begins."""
    epoch = now.timestamp()
    start = int(epoch // seconds) * seconds
    return start, max(1, math.ceil(start + seconds - epoch))


def claim(session: Session, key: str, *, limit: int, window_seconds: int, now: datetime) -> Verdict:
    """Count one attempt for ``key``; allowed while the window's count stays within ``limit``.

    Runs in the caller's transaction; commit promptly so other requests see the count.
    """
    table = RateCounter.__table__
    start, retry_after = _window(now, window_seconds)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(table).values(key=key, window_start=start, window_end=start + window_seconds, count=1)
            .on_conflict_do_update(index_elements=[table.c.key, table.c.window_start], set_={"count": table.c.count + 1})
            .returning(table.c.count))
    count = session.execute(stmt).scalar_one()
    if count == 1:  # the first claim of a window for this key tidies every window that has ended
        session.execute(sa.delete(table).where(table.c.window_end <= int(now.timestamp())))
    return Verdict(count <= limit, count, retry_after)


def refund(session: Session, key: str, *, window_seconds: int, now: datetime) -> None:
    """Give back one attempt of the current window (e.g. a login that succeeded)."""
    table = RateCounter.__table__
    start, _ = _window(now, window_seconds)
    session.execute(sa.update(table).where(table.c.key == key, table.c.window_start == start, table.c.count > 0)
                    .values(count=table.c.count - 1))
