"""The SLA sweeps (APScheduler 3): reminders, 催办, 督办 escalation, and closing unanswered surveys.

Several ``linli serve`` instances may share one PostgreSQL database, but APScheduler 3
cannot share a job store between processes, so every instance schedules the sweep and a
database lock decides which one runs it (core.locks.HeldLock: a PostgreSQL session advisory
lock released when its connection dies; on SQLite a ``flock`` on a file beside the database).
The sweep itself is idempotent (see core.deadlines), so even two runs at once would send every
warning once: the outbox refuses a second row with the same key.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bots.actions import Actions
from bots.replies import BotReply, enqueue
from core import db, dialogue, maintenance, tickets
from core.deadlines import TicketClock, Warning, due_warnings, next_check
from core.grids import LEVEL_ORDER, Level
from core.locks import HeldLock, key_of
from core.models import Person, SweepBasis, Ticket, TicketEvent, open_states_clause, utcnow
from core.ticket_states import TicketState

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("linli.scheduler")

ADVISORY_LOCK_KEY = key_of("sweep")
STAFF_TEMPLATES = {"confirm": "staff_confirm_overdue", "blue": "staff_blue", "yellow": "staff_yellow"}


SweepLock = HeldLock  # the sweeps' lock: core.locks.HeldLock under the name "sweep"


@dataclass
class SweepReport:
    """What one sweep did, by kind: confirm / blue / yellow / red / closed."""

    done: dict[str, int] = field(default_factory=dict)
    replies: int = 0

    def add(self, kind: str, replies: int) -> None:
        self.done[kind] = self.done.get(kind, 0) + 1
        self.replies += replies


class Sweeper:
    """One pass over the open tickets with a warning due and the resolved tickets whose survey
    timed out. Idempotent: run it as often as you like.

    Each visit stores when the ticket must be looked at next (``Ticket.next_sweep_at``, from
    core.deadlines.next_check), so a run reads only the tickets whose time has come through
    a partial index, not every open ticket. Those times depend on the SLA policy and the
    grids: ``basis`` is their fingerprint (:func:`sweep_basis`), and a run whose basis is not
    the one recorded in the database (``SweepBasis``) looks at every open ticket once and
    then records it, so a changed policy takes effect at once while a plain restart costs
    nothing.
    """

    def __init__(self, engine: Engine, actions: Actions, *, survey_timeout: timedelta,
                 basis: str, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.actions = actions
        self.survey_timeout = survey_timeout
        self.clock = clock
        self.basis = basis

    def run_once(self, now: datetime | None = None) -> SweepReport:
        now = now or self.clock()
        report = SweepReport()
        with Session(self.engine) as session:
            everything = self._needs_full_visit(session)
            due = [] if everything else [col(Ticket.next_sweep_at) <= now]
            open_ids = [i for i in session.exec(select(col(Ticket.id)).where(open_states_clause(), *due).order_by(col(Ticket.id)))
                        if i is not None]
            stale = [i for i in session.exec(select(Ticket.id).where(
                col(Ticket.state) == TicketState.RESOLVED, col(Ticket.resolved_at) <= now - self.survey_timeout,
            ).order_by(col(Ticket.id))) if i is not None]
        for ticket_id in open_ids:
            self._sweep_ticket(ticket_id, now, report)
        for ticket_id in stale:
            self._close(ticket_id, now, report)
        with db.session_scope(self.engine) as session:
            dialogue.prune(session, now - timedelta(days=1))
        if everything:
            self.mark_settled(now)
        return report

    def _needs_full_visit(self, session: Session) -> bool:
        recorded = session.get(SweepBasis, 1)
        return recorded is None or recorded.fingerprint != self.basis

    def mark_settled(self, now: datetime | None = None) -> None:
        """Every open ticket's next sweep time is now computed on this sweeper's basis."""
        with db.session_scope(self.engine) as session:
            row = session.get(SweepBasis, 1) or SweepBasis(id=1, fingerprint=self.basis)
            row.fingerprint, row.recorded_at = self.basis, now or self.clock()
            session.add(row)

    def _sent(self, session: Session, ticket_id: int) -> set[str]:
        rows = session.exec(select(TicketEvent.data).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "sla"))
        return {(data or {}).get("key", "") for data in rows}

    def clock_of(self, session: Session, ticket: Ticket) -> TicketClock:
        ladder = self.actions.ladder(session, ticket)
        reached = 0
        if ticket.escalation_level:
            rank = LEVEL_ORDER.index(Level(ticket.escalation_level))
            reached = sum(1 for g in ladder if LEVEL_ORDER.index(Level(g.level)) >= rank)
        return TicketClock(
            pending=TicketState(ticket.state) is TicketState.PENDING,
            round_start=self.actions.round_start(ticket),
            confirm_due_at=ticket.confirm_due_at, resolve_due_at=ticket.resolve_due_at,
            escalated_levels=reached, ladder_size=len(ladder),
        )

    def _sweep_ticket(self, ticket_id: int, now: datetime, report: SweepReport) -> None:
        try:
            self._sweep_ticket_once(ticket_id, now, report)
        except sa.exc.IntegrityError:
            # Another sweeper got there first (the outbox refused the same key twice): its
            # transaction holds the warning; ours rolled back. Nothing is lost or doubled.
            log.info("ticket %s was swept concurrently by another process", ticket_id)

    def _sweep_ticket_once(self, ticket_id: int, now: datetime, report: SweepReport) -> None:
        policy = self.actions.sla
        with db.session_scope(self.engine) as session:
            # Locked so a concurrent change cannot be overwritten by a next time computed from old values.
            ticket = tickets.lock(session, ticket_id)
            if ticket is None or not TicketState(ticket.state).is_open:
                return
            warnings = due_warnings(self.clock_of(session, ticket), now, remind_at=policy.remind_at, warn_at=policy.warn_at,
                                    escalate_every=policy.escalate_every, sent=self._sent(session, ticket_id))
            for warning in warnings:
                replies = self._apply(session, ticket, warning, now)
                enqueue(session, replies, prefix=f"sweep:{ticket.id}:{warning.key}", at=now)
                report.add(warning.kind, len(replies))
            ticket.next_sweep_at = next_check(self.clock_of(session, ticket), now, remind_at=policy.remind_at,
                                              warn_at=policy.warn_at, escalate_every=policy.escalate_every)
            session.add(ticket)

    def _apply(self, session: Session, ticket: Ticket, warning: Warning, now: datetime) -> list[BotReply]:
        if warning.kind == "red":
            target = self.actions.ladder(session, ticket)[warning.level - 1]
            replies = self.actions.escalate(session, ticket, target, tickets.SYSTEM, "超过办结时限", now=now, overdue=True)
        else:
            told: set = set()
            key = f"sla:{warning.kind}:{ticket.id}"
            # Staff rooms only (audience: staff): a residents' group never sees 催办 or 提醒.
            replies = self.actions.notify_staff(session, ticket, ticket.grid_id, STAFF_TEMPLATES[warning.kind], key,
                                                skip=told, now=now).replies
            assignee = session.exec(select(Person).where(Person.key == ticket.assignee)).first() if ticket.assignee else None
            if warning.kind == "yellow" and assignee is not None and assignee.grid_id:
                # 催办 reaches the assignee too, in the staff rooms of their own grid
                replies += self.actions.notify_staff(session, ticket, assignee.grid_id, "staff_yellow", key,
                                                     skip=told, now=now).replies
        tickets.record(session, ticket, tickets.SYSTEM, "sla", warning.kind, at=now,
                       data={"key": warning.key, "warning": warning.kind, "level": warning.level or None})
        return replies

    def _close(self, ticket_id: int, now: datetime, report: SweepReport) -> None:
        with db.session_scope(self.engine) as session:
            ticket = tickets.lock(session, ticket_id)  # a survey answer at the same moment wins or waits
            if ticket is None or TicketState(ticket.state) is not TicketState.RESOLVED:
                return
            if unhappy_since_resolved(session, ticket):
                return  # the resident sounded unhappy and the grid worker was told: never closed by silence
            replies = self.actions.close_unanswered(session, ticket, now=now)
            resolved_at = ticket.resolved_at.isoformat() if ticket.resolved_at else ""
            enqueue(session, replies, prefix=f"sweep:{ticket.id}:close@{resolved_at}", at=now)
            report.add("closed", len(replies))


def unhappy_since_resolved(session: Session, ticket: Ticket) -> bool:
    """Whether a reporter gave an unclear, unhappy-sounding survey answer (``survey_unclear``) since
    the ticket was last resolved (see bots/followup.py)."""
    return session.exec(select(TicketEvent.id).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "survey_unclear",
        col(TicketEvent.created_at) >= ticket.resolved_at)).first() is not None


class Maintenance:
    """Housekeeping (core.maintenance.purge) at most once per ``every``, on the instance that sweeps."""

    def __init__(self, engine: Engine, *, inbox_retention: timedelta | None, every: timedelta = timedelta(hours=1),
                 clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.inbox_retention = inbox_retention
        self.every = every
        self.clock = clock
        self._next: datetime | None = None

    def run_if_due(self) -> maintenance.PurgeReport | None:
        """Purge when the last purge of this process is ``every`` ago (or there was none); None otherwise."""
        now = self.clock()
        if self._next is not None and now < self._next:
            return None
        self._next = now + self.every
        report = maintenance.purge(self.engine, now, inbox_retention=self.inbox_retention)
        if report.total:
            log.info("maintenance purged %s", {k: v for k, v in report.deleted.items() if v})
        return report


class Scheduler:
    """Runs :meth:`tick` every ``interval`` seconds on the event loop (APScheduler AsyncIOScheduler)."""

    def __init__(self, sweeper: Sweeper, lock: SweepLock, interval: float, *, on_change: Callable[[], None] | None = None,
                 reporter=None, maintenance: Maintenance | None = None):
        self.sweeper = sweeper
        self.reporter = reporter  # bots.reports.Reporter: digests, under the same lock
        self.maintenance = maintenance  # purges, under the same lock
        self.lock = lock
        self.interval = interval
        self.on_change = on_change
        self._scheduler: AsyncIOScheduler | None = None
        self._busy = threading.Lock()  # one sweep at a time in this process, too
        self.swept: asyncio.Event | None = None  # set after each scheduled run (tests wait on it)
        self.last_report: SweepReport | None = None

    def tick(self) -> SweepReport | None:
        """One sweep if this process holds the lock and is not sweeping already; None otherwise.
        Blocking: run it in a thread."""
        if not self._busy.acquire(blocking=False):
            return None
        try:
            if not self.lock.acquire():
                return None
            report = self.sweeper.run_once()
            if self.reporter is not None:
                try:
                    self.reporter.run_once()
                except Exception:  # a failed digest must not stop the sweeps; the next tick retries
                    log.exception("queueing the digests failed; the next run retries")
            if self.maintenance is not None:
                try:
                    self.maintenance.run_if_due()
                except Exception:  # nothing is lost by purging later
                    log.exception("maintenance failed; it runs again in an hour")
        finally:
            self._busy.release()
        if report.done:
            log.info("sweep: %s", report.done)
        return report

    async def _job(self) -> None:
        from starlette.concurrency import run_in_threadpool

        try:
            report = await run_in_threadpool(self.tick)
        except Exception:
            log.exception("SLA sweep failed; the next run repeats what is still due")
            return
        self.last_report = report
        if self.swept is not None:
            self.swept.set()
        if report is not None and report.replies and self.on_change:
            self.on_change()  # on the event loop: wakes live views in this process

    def start(self) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.swept = asyncio.Event()
        self._scheduler = AsyncIOScheduler()
        self._scheduler.add_job(self._job, "interval", seconds=self.interval, id="linli-sla-sweep",
                                max_instances=1, coalesce=True, next_run_time=utcnow())
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        self.lock.release()
