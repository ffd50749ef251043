"""Posting the daily and weekly digests (日报, 周报) to every staff room, on the settings' schedule.

The scheduler calls :meth:`Reporter.run_once` after each SLA sweep, under the same
one-instance lock. Each digest is an outbox row whose key names the period and the chat
(``report:day:2026-12-01:to:playground:heping-staff``), so a digest is queued once even across
restarts and instances; a digest missed while no instance ran goes out when one starts,
until the next one is due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bots.replies import Destination
from core import db, outbox, reports
from core.chinese import to_traditional
from core.grids import Audience
from core.models import Chat, OutboxMessage, utcnow
from core.working_hours import parse_clock

log = logging.getLogger("linli.reports")


@dataclass(frozen=True)
class Schedule:
    """When digests go out (local time): daily at ``daily_at``, weekly on ``weekly_on`` at ``weekly_at``;
    None switches one off."""

    daily_at: time | None = time(8, 30)
    weekly_at: time | None = time(8, 30)
    weekly_on: int = 0  # Monday

    @classmethod
    def parse(cls, daily_at: str, weekly_at: str, weekly_on: str) -> Schedule:
        """From LINLI_REPORT_DAILY_AT, LINLI_REPORT_WEEKLY_AT (``08:30``, or ``off``) and LINLI_REPORT_WEEKLY_ON (``mon``)."""
        def clock(name: str, text: str) -> time | None:
            if text.strip().lower() in ("", "off", "none", "false"):
                return None
            found = parse_clock(text)
            if found is None:
                raise ValueError(f"{name}={text!r} is not a time of day; write it like 08:30, or off")
            return found

        day = weekly_on.strip().lower()[:3]
        if day not in reports.WEEKDAYS:
            raise ValueError(f"LINLI_REPORT_WEEKLY_ON={weekly_on!r} is not a weekday; write mon, tue … sun")
        return cls(clock("LINLI_REPORT_DAILY_AT", daily_at), clock("LINLI_REPORT_WEEKLY_AT", weekly_at),
                   reports.WEEKDAYS.index(day))

    def enabled(self) -> list[tuple[str, time, int]]:
        out = []
        if self.daily_at:
            out.append(("day", self.daily_at, 0))
        if self.weekly_at:
            out.append(("week", self.weekly_at, self.weekly_on))
        return out


def digest_key(period: str, start: datetime, chat_key: str) -> str:
    return f"report:{period}:{start.date().isoformat()}:to:{chat_key}"


class Reporter:
    def __init__(self, engine: Engine, schedule: Schedule, *, can_receive: Callable[[str], bool] | None = None,
                 clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.schedule = schedule
        self.can_receive = can_receive
        self.clock = clock

    def staff_rooms(self, session: Session) -> list[Chat]:
        chats = session.exec(select(Chat).where(
            col(Chat.active), col(Chat.is_group), col(Chat.grid_id).is_not(None), col(Chat.audience) == Audience.STAFF.value,
        ).order_by(col(Chat.key))).all()
        return [c for c in chats if self.can_receive is None or self.can_receive(c.key)]

    def run_once(self, now: datetime | None = None) -> int:
        """Queue every digest that is due and not queued yet; returns how many were queued."""
        now = now or self.clock()
        queued = 0
        for period, at, weekday in self.schedule.enabled():
            start, end = reports.due_period(period, now, at, weekday)
            with db.session_scope(self.engine) as session:
                for chat in self.staff_rooms(session):
                    key = digest_key(period, start, chat.key)
                    if session.exec(select(OutboxMessage.id).where(OutboxMessage.dedup_key == key)).first() is not None:
                        continue
                    text = reports.format_digest(reports.build(session, period, grid_id=chat.grid_id, now=now, start=start, end=end))
                    if chat.script == "traditional":
                        text = to_traditional(text)
                    dest = Destination(chat.platform, chat.chat_id, True, script=chat.script)
                    if outbox.enqueue(session, dest.reply(text, key).reply, dedup_key=key, at=now) is not None:
                        queued += 1
        if queued:
            log.info("queued %d digest(s)", queued)
        return queued
