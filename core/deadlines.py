"""Deadline colours and what an SLA sweep must do, as pure functions of stored times.

Colours (四色预警) of an open ticket at time ``now``, from the share of its resolve window used:
green (on time) → blue (``remind_at``, first reminder) → yellow (``warn_at``, 催办) → red
(overdue, 督办: escalate one level, community → street → district, one more level after each
``escalate_every``). Nothing here reads a clock or a database: the sweep passes the stored
times and the keys of the warnings already sent, so a restart or a missed run never loses a
warning and a second run never repeats one.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Colour(StrEnum):
    GREEN = "green"
    BLUE = "blue"
    YELLOW = "yellow"
    RED = "red"

    @property
    def label(self) -> str:
        return {"green": "绿灯", "blue": "蓝灯", "yellow": "黄灯", "red": "红灯"}[self.value]


def colour(start: datetime, due: datetime | None, now: datetime, *, remind_at: float = 0.5, warn_at: float = 0.75) -> Colour:
    """The colour of an open ticket whose current round started at ``start`` and is due at ``due``."""
    if due is None:
        return Colour.GREEN
    if now >= due:
        return Colour.RED
    window = (due - start).total_seconds()
    used = 1.0 if window <= 0 else (now - start).total_seconds() / window
    if used >= warn_at:
        return Colour.YELLOW
    if used >= remind_at:
        return Colour.BLUE
    return Colour.GREEN


@dataclass(frozen=True)
class TicketClock:
    """The stored times of one open ticket that decide its warnings."""

    pending: bool
    round_start: datetime  # creation, or the last reopen
    confirm_due_at: datetime | None
    resolve_due_at: datetime | None
    escalated_levels: int  # how many levels above its grid it has already been escalated to
    ladder_size: int  # how many levels there are above its grid


@dataclass(frozen=True)
class Warning:
    """One thing a sweep must do for a ticket. ``key`` is recorded once done (idempotency)."""

    kind: str  # confirm | blue | yellow | red
    key: str
    level: int = 0  # for red: the number of levels above the grid to escalate to (1 = the first)


def due_warnings(
    t: TicketClock, now: datetime, *, remind_at: float, warn_at: float, escalate_every: timedelta, sent: set[str],
) -> list[Warning]:
    """What a sweep at ``now`` must do for a ticket, given the keys of warnings already ``sent``.

    A run that was missed sends the strongest warning now due, not the weaker ones it
    overtook (a ticket already red is escalated, not also reminded in blue and yellow).
    Red is idempotent through ``escalated_levels``: a level reached (by the sweep or by a
    worker's 上报) is never escalated to again.
    """
    out: list[Warning] = []
    if t.pending and t.confirm_due_at is not None and now >= t.confirm_due_at:
        key = f"confirm@{t.confirm_due_at.isoformat()}"
        if key not in sent:
            out.append(Warning("confirm", key))
    due = t.resolve_due_at
    if due is None:
        return out
    c = colour(t.round_start, due, now, remind_at=remind_at, warn_at=warn_at)
    if c is Colour.RED:
        steps = 1 + (math.floor((now - due) / escalate_every) if escalate_every > timedelta(0) else 0)
        target = min(t.ladder_size, steps)
        if target > t.escalated_levels:
            out.append(Warning("red", f"red@{due.isoformat()}:{target}", level=target))
    elif c in (Colour.BLUE, Colour.YELLOW):
        key = f"{c.value}@{due.isoformat()}"
        stronger = f"yellow@{due.isoformat()}"
        if key not in sent and not (c is Colour.BLUE and stronger in sent):
            out.append(Warning(c.value, key))
    return out


_TICK = timedelta(microseconds=1)


NEXT_CHECK_RULES = 1  # bump whenever next_check (or the clock it reads) changes what it returns


def sweep_basis(*configs: bytes) -> str:
    """Fingerprint of what stored next sweep times depend on: the configuration texts given
    (the SLA policy, the grids) and the version of the next-check rules."""
    digest = hashlib.sha256(f"next_check rules {NEXT_CHECK_RULES}".encode())
    for text in configs:
        digest.update(len(text).to_bytes(8, "big") + text)
    return digest.hexdigest()


def next_check(t: TicketClock, now: datetime, *, remind_at: float, warn_at: float, escalate_every: timedelta) -> datetime | None:
    """The earliest time after ``now`` at which :func:`due_warnings` may have something new for
    this ticket (None: nothing, whatever the time, until its stored times change).

    The sweep stores it per ticket and visits only tickets whose time has come. It errs early,
    never late: a visit with nothing due just stores the next time.
    """
    times: list[datetime] = []
    if t.pending and t.confirm_due_at is not None and t.confirm_due_at > now:
        times.append(t.confirm_due_at)
    due = t.resolve_due_at
    if due is not None:
        c = colour(t.round_start, due, now, remind_at=remind_at, warn_at=warn_at)
        if c is Colour.RED:
            if escalate_every > timedelta(0):
                steps = 1 + math.floor((now - due) / escalate_every)
                if steps < t.ladder_size:
                    times.append(due + steps * escalate_every)
        else:
            window = due - t.round_start
            share = {Colour.GREEN: min(remind_at, warn_at), Colour.BLUE: warn_at}.get(c)
            at = due if share is None or window <= timedelta(0) else min(due, t.round_start + window * share)
            # A boundary that rounding put at or before ``now`` (the colour has not turned yet): look again at once.
            times.append(max(at, now + _TICK))
    return min(times, default=None)
