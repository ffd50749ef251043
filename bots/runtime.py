"""The running service's parts wired together: database, bot, adapters, inbox and outbox.

Every channel calls :meth:`Runtime.ingest`; every reply leaves through the outbox worker.
Nothing here holds state another instance needs: the database is the only shared state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from adapters.base import ChannelAdapter, DeliveryError
from bots.community import CommunityBot
from bots.templates import Templates
from config.settings import Settings
from core import db, inbox, outbox
from core.grids import load_into_db, read_grids_file
from core.message import Message, OutgoingReply
from core.models import OutboxMessage, utcnow
from core.sla import load_sla

log = logging.getLogger("linli.runtime")


@dataclass
class IngestResult:
    """What happened to one inbound message."""

    inbox_id: int
    duplicate: bool
    outbox: list[OutboxMessage] = field(default_factory=list)

    @property
    def replies(self) -> list[OutgoingReply]:
        return [outbox.reply_of(row) for row in self.outbox]


class Runtime:
    def __init__(self, settings: Settings, *, engine: Engine | None = None, clock: Callable[[], datetime] = utcnow):
        self.settings = settings
        self.engine = engine or db.make_engine(settings.resolved_database_url)
        self.clock = clock
        self.templates = Templates.load(settings.templates_file)
        self.sla = load_sla(settings.sla_file)
        self.bot = CommunityBot(self.templates, self.sla, clock=clock)
        self.adapters: dict[str, ChannelAdapter] = {}
        self.changed = asyncio.Event()  # wakes live views in this process; others poll
        self._tasks: list[asyncio.Task] = []

    # -- setup ---------------------------------------------------------------------------

    def prepare(self) -> None:
        """Apply migrations and load the grids file (both idempotent)."""
        db.upgrade(self.settings.resolved_database_url)
        spec = read_grids_file(self.settings.grids_file)
        with db.session_scope(self.engine) as session:
            load_into_db(session, spec)

    def register(self, adapter: ChannelAdapter) -> None:
        self.adapters[adapter.platform] = adapter

    # -- inbound -------------------------------------------------------------------------

    def ingest_sync(self, message: Message) -> IngestResult:
        """Store the message (once), then process it. Safe to call again with the same message."""
        with db.Session(self.engine, expire_on_commit=False) as session:
            row, is_new = inbox.store(session, message)
        if not is_new:
            return IngestResult(row.id, duplicate=True)
        return IngestResult(row.id, duplicate=False, outbox=self.process(row.id))

    async def ingest(self, message: Message) -> IngestResult:
        result = await run_in_threadpool(self.ingest_sync, message)
        if result.outbox:
            self.changed.set()
        return result

    def process(self, inbox_id: int) -> list[OutboxMessage]:
        """Run the bot on one stored message; its effects and the 'done' mark commit together."""
        with db.Session(self.engine, expire_on_commit=False) as session:
            if not inbox.claim(session, inbox_id):
                return []
            row = session.get(inbox.InboxMessage, inbox_id)
            message = inbox.load_message(row)
        try:
            with db.session_scope(self.engine) as session:
                replies = self.bot.handle(session, message)
                rows = [
                    outbox.enqueue(session, r.reply, dedup_key=f"in:{inbox_id}:{r.key}", ticket_id=r.ticket_id, inbox_id=inbox_id)
                    for r in replies
                ]
                inbox.finish(session, inbox_id, "done" if replies else "ignored")
            return [r for r in rows if r is not None]
        except Exception as exc:  # the message stays stored and visible; never dropped
            log.exception("processing inbox message %s failed", inbox_id)
            with db.session_scope(self.engine) as session:
                inbox.finish(session, inbox_id, "failed", error=f"{type(exc).__name__}: {exc}"[:500])
            return []

    def recover_inbox(self, older_than: timedelta = timedelta(seconds=30)) -> int:
        """Process messages that were accepted but never finished (a crash). Returns how many."""
        with db.Session(self.engine) as session:
            ids = inbox.unfinished(session, older_than=self.clock() - older_than)
        return sum(1 for i in ids if self.process(i) is not None)

    # -- outbound ------------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Deliver every due outbox row once. Returns how many were sent."""
        rows = await run_in_threadpool(self._claim)
        sent = 0
        for row in rows:
            adapter = self.adapters.get(row.platform)
            if adapter is None:
                await run_in_threadpool(self._failed, row, f"no adapter configured for platform {row.platform!r}", False, None)
                continue
            try:
                result = await adapter.deliver(outbox.reply_of(row))
            except DeliveryError as exc:
                await run_in_threadpool(self._failed, row, exc.reason, exc.retryable, exc.retry_after)
                continue
            except Exception as exc:  # an adapter bug must not kill the worker
                log.exception("adapter %s crashed delivering outbox %s", row.platform, row.id)
                await run_in_threadpool(self._failed, row, f"{type(exc).__name__}: {exc}", True, None)
                continue
            await run_in_threadpool(self._sent, row.id, result.platform_message_id)
            sent += 1
        if sent:
            self.changed.set()
        return sent

    def _claim(self) -> list[OutboxMessage]:
        with db.Session(self.engine, expire_on_commit=False) as session:
            return outbox.claim_due(session)

    def _sent(self, outbox_id: int, platform_message_id: str | None) -> None:
        with db.Session(self.engine) as session:
            outbox.mark_sent(session, outbox_id, platform_message_id)

    def _failed(self, row: OutboxMessage, reason: str, retryable: bool, retry_after: float | None) -> None:
        with db.Session(self.engine) as session:
            outbox.mark_failed(session, row, reason, retryable=retryable, retry_after=retry_after)

    # -- background workers ---------------------------------------------------------------

    async def _outbox_loop(self) -> None:
        while True:
            try:
                if not await self.deliver_due():
                    await asyncio.sleep(self.settings.outbox_poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox worker iteration failed; retrying")
                await asyncio.sleep(1)

    async def _recovery_loop(self) -> None:
        while True:
            try:
                await run_in_threadpool(self.recover_inbox)
            except Exception:
                log.exception("inbox recovery failed; retrying")
            await asyncio.sleep(15)

    async def start(self) -> None:
        for adapter in self.adapters.values():
            await adapter.start()
        await run_in_threadpool(self.recover_inbox, timedelta(0))
        if self.settings.run_outbox:
            self._tasks.append(asyncio.create_task(self._outbox_loop(), name="linli-outbox"))
        self._tasks.append(asyncio.create_task(self._recovery_loop(), name="linli-inbox-recovery"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for adapter in self.adapters.values():
            await adapter.stop()
