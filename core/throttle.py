"""Counters of attempts per key (a client address, a room …) in a time window, kept in the database
so every instance shares them.

A key's window opens with its first attempt and lasts ``window_seconds``; the first attempt after
it has ended opens a new one. One statement claims an attempt and returns the new count (an upsert
with RETURNING), so parallel requests can never read the same count and both pass; a caller whose
attempt turned out harmless may give it back with :func:`refund`. Opening a window deletes the
rows of every window that has ended.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from core.db import table_of
from core.models import RateCounter, UTCDateTime


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim: allowed, the count in this window, and whole seconds until it ends."""

    allowed: bool
    count: int
    retry_after: int


def claim(session: Session, key: str, *, limit: int, window_seconds: int, now: datetime) -> Verdict:
    """Count one attempt for ``key``; allowed while the window's count stays within ``limit``.

    Runs in the caller's transaction; commit promptly so other requests see the count.
    """
    table = table_of(RateCounter)
    c = table.c
    at = sa.literal(now, UTCDateTime())
    ended = c.window_end <= at
    end = now + timedelta(seconds=window_seconds)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (insert(table).values(key=key, window_end=end, count=1)
            .on_conflict_do_update(index_elements=[c.key], set_={
                "count": sa.case((ended, 1), else_=c.count + 1),
                "window_end": sa.case((ended, sa.literal(end, UTCDateTime())), else_=c.window_end)})
            .returning(c.count, c.window_end))
    count, window_end = session.execute(stmt).one()
    if count == 1:  # a new window: tidy away the ones that have ended
        session.execute(sa.delete(table).where(ended))
    return Verdict(count <= limit, count, max(1, math.ceil((window_end - now).total_seconds())))


def refund(session: Session, key: str, *, now: datetime) -> None:
    """Give back one attempt of ``key``'s current window (e.g. a sign-in that succeeded)."""
    c = table_of(RateCounter).c
    session.execute(sa.update(table_of(RateCounter))
                    .where(c.key == key, c.window_end > sa.literal(now, UTCDateTime()), c.count > 0)
                    .values(count=c.count - 1))
