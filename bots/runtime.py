"""The running service's parts wired together: database, bot, adapters, inbox and outbox.

Every channel calls :meth:`Runtime.ingest`; every reply leaves through the outbox worker.
Nothing here holds state another instance needs: the database is the only shared state.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from adapters.base import ChannelAdapter, DeliveryError, RecipientUnreachable
from bots import fallback, metrics, photos
from bots.changes import ChangeSignal
from bots.channels import notice_receiver
from bots.community import CommunityBot
from bots.reports import Reporter, Schedule
from bots.scheduler import Maintenance, Scheduler, Sweeper, SweepLock
from bots.templates import Templates
from config.settings import Settings
from core import db, inbox, locks, outbox
from core.db import pk
from core.deadlines import sweep_basis
from core.grids import load_into_db, read_grids_file
from core.message import Message, MessageKind, OutgoingReply
from core.models import OutboxMessage, utcnow
from core.routing import load_routing
from core.sla import load_sla
from core.timefmt import local, use_zone

log = logging.getLogger("linli.runtime")
DB_RETRIES = 3  # immediate retries of a message whose transaction hit a database conflict
INBOX_BATCH = 50  # stored messages one inbox worker claims per round
INBOX_BUSY_BATCH = 1  # … while webhooks are arriving, then it pauses:
INBOX_BUSY_PAUSE = 3.0  # … this many times as long as the batch took (≈ a quarter of the CPU)
INBOX_BUSY_WINDOW = 0.2  # seconds since the last accepted message that count as "arriving"
OUTBOX_BATCH = 50  # rows one worker claims per round (delivered concurrently across chats)
@dataclass
class IngestResult:
    """What happened to one inbound message."""

    inbox_id: int
    duplicate: bool
    outbox: list[OutboxMessage] = field(default_factory=list)

    @property
    def replies(self) -> list[OutgoingReply]:
        return [outbox.reply_of(row) for row in self.outbox]


def _read(path: Path) -> bytes:
    return path.read_bytes() if path.is_file() else b""


def warm_classifier() -> None:
    """Classify one message so the model and jieba's dictionary are loaded, then take what is
    loaded by now out of the garbage collector's sight.

    The dictionary and the model are about 300,000 long-lived container objects that never
    form garbage; left in sight, every full collection walked them all: about 200 ms, 18
    times in 10 s of webhook load (bench/webhook.py), which was the request path's p99."""
    from core.classify import classify

    classify("楼道灯坏了")
    gc.collect()
    gc.freeze()


class Runtime:
    def __init__(self, settings: Settings, *, engine: Engine | None = None, clock: Callable[[], datetime] = utcnow):
        self.settings = settings
        use_zone(settings.timezone)
        self.engine = engine or db.make_engine(settings.resolved_database_url)
        self.clock = clock
        self.templates = Templates.load(settings.templates_file)
        self.sla = load_sla(settings.sla_file)
        self.bot = CommunityBot(
            self.templates, self.sla, routing=load_routing(settings.routing_file), clock=clock,
            duplicate_window=timedelta(hours=settings.duplicate_window_hours),
            can_receive=notice_receiver(settings),
            survey_timeout=timedelta(hours=settings.survey_timeout_hours),
            question_expiry=timedelta(hours=settings.question_expiry_hours),
            ask_to_file_per_hour=settings.ask_to_file_per_hour,
        )
        self.sweeper = Sweeper(self.engine, self.bot.actions, clock=clock,
                               survey_timeout=timedelta(hours=settings.survey_timeout_hours),
                               basis=sweep_basis(*(_read(path) for path in (settings.sla_file, settings.grids_file))))
        self.sweeper.run_once = metrics.timed(self.sweeper.run_once, "sla")  # type: ignore[method-assign]  # durations in /metrics
        self.reporter = Reporter(self.engine, Schedule.parse(settings.report_daily_at, settings.report_weekly_at,
                                                             settings.report_weekly_on),
                                 can_receive=notice_receiver(settings), clock=clock)
        self.scheduler = Scheduler(self.sweeper, SweepLock(self.engine), settings.sweep_interval_seconds,
                                   on_change=lambda: self.changed.set(), reporter=self.reporter,
                                   maintenance=Maintenance(self.engine, inbox_retention=settings.inbox_retention, clock=clock))
        self.adapters: dict[str, ChannelAdapter] = {}
        self.changed = ChangeSignal()  # wakes live views in this process (set from any thread); others poll
        self._inbox_wakeup = asyncio.Event()  # a deferred message was stored by this process
        self._accepting: list[tuple[Message, asyncio.Future]] = []  # waiting for the next group commit
        self._accept_task: asyncio.Task | None = None
        self._last_accept = 0.0  # time.monotonic() of the last group commit
        self._tasks: list[asyncio.Task] = []

    # -- setup ---------------------------------------------------------------------------

    def prepare(self) -> None:
        """Apply migrations and load the grids file (both idempotent).

        Instances starting at the same moment take turns (a database-wide lock), so two of
        them never race to create the same tables or grid rows."""
        spec = read_grids_file(self.settings.grids_file)
        if warning := self.sla.holiday_warning(local(self.clock()).date()):
            log.warning(warning)
        with locks.waiting_for(self.engine, "startup"):
            db.upgrade(self.settings.resolved_database_url)
            with db.session_scope(self.engine) as session:
                load_into_db(session, spec)

    def register(self, adapter: ChannelAdapter) -> None:
        self.adapters[adapter.platform] = adapter

    # -- inbound -------------------------------------------------------------------------

    def stamped(self, message: Message) -> Message:
        """The message with the time this service received it (by its clock), unless it has one."""
        return message if message.received_at else message.model_copy(update={"received_at": self.clock()})

    def ingest_sync(self, message: Message) -> IngestResult:
        """Store the message (once), then process it. Safe to call again with the same message.

        The row is committed before processing starts, so a webhook that answers after this
        returns has the message even if processing fails or the process dies."""
        message = self.stamped(message)
        with db.Session(self.engine, expire_on_commit=False) as session:
            row, is_new = inbox.store(session, message, claim=True)
        metrics.count_inbound(message.platform, duplicate=not is_new)
        if not is_new:
            return IngestResult(pk(row), duplicate=True)
        return IngestResult(pk(row), duplicate=False, outbox=self._run(pk(row), row.attempts, message) or [])

    async def ingest(self, message: Message, *, defer: bool | None = None) -> IngestResult:
        """Store the message, then process it now, or later when deferred.

        ``defer=True`` (or ``LINLI_INBOX_DEFER=true`` when a caller does not say) acknowledges
        once the message is stored and leaves the processing to the inbox worker: a webhook
        answers in about a millisecond however busy the bot is, and a burst waits in the inbox
        instead of in open HTTP requests. The result then has no replies (they are sent by the
        outbox worker as usual). Button presses and chat events are always processed at once:
        their callers answer the platform with the outcome."""
        if defer is None:
            defer = self.settings.inbox_defer
        if defer and message.kind in (MessageKind.MESSAGE, MessageKind.EDIT):
            return await self.accept(message)
        result = await run_in_threadpool(self.ingest_sync, message)
        if result.outbox:
            self.changed.set()
        return result

    async def accept(self, message: Message) -> IngestResult:
        """Store the message (once) for the inbox worker; returns once it is committed.

        Group commit: the messages of all requests arriving while one batch is being written
        go into the next batch, one INSERT and one commit for all of them
        (:func:`core.inbox.store_many`), written by one thread. A request is answered only after
        the transaction holding its message has committed; a failed batch fails every request
        in it (the platform retries)."""
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._accepting.append((self.stamped(message), future))
        if self._accept_task is None or self._accept_task.done():
            self._accept_task = asyncio.create_task(self._commit_accepted(), name="linli-inbox-writer")
        return await future

    async def _commit_accepted(self) -> None:
        while self._accepting:
            batch, self._accepting = self._accepting, []
            try:
                stored = await run_in_threadpool(self._store_batch, [m for m, _ in batch])
            except Exception as exc:
                log.warning("storing %d inbound messages failed: %s", len(batch), exc)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (message, future), (inbox_id, is_new) in zip(batch, stored, strict=True):
                metrics.count_inbound(message.platform, duplicate=not is_new)
                if not future.done():  # a request whose client went away is simply not answered
                    future.set_result(IngestResult(inbox_id, duplicate=not is_new))
            self._last_accept = time.monotonic()
            if any(is_new for _, is_new in stored):
                self._inbox_wakeup.set()

    def _store_batch(self, messages: list[Message]) -> list[tuple[int, bool]]:
        with db.Session(self.engine) as session:
            return inbox.store_many(session, messages)

    def process(self, inbox_id: int) -> list[OutboxMessage] | None:
        """Run the bot on one stored message; its effects and the 'done' mark commit together.

        Returns the queued replies, or None when the message is finished or being processed
        by another worker. Database conflicts (deadlocks, two messages creating the same chat
        at once on two instances) are retried; a bug in the bot marks the message ``failed``
        with the reason; anything else leaves it for the recovery loop."""
        with db.Session(self.engine) as session:
            attempt = inbox.claim(session, inbox_id)
        if attempt is None:
            return None
        return self._run(inbox_id, attempt)

    def _run(self, inbox_id: int, attempt: int, message: Message | None = None) -> list[OutboxMessage] | None:
        """Process a row whose ``attempt`` has been counted (see :meth:`process`); ``message``
        is the stored message when the caller has it at hand."""
        if attempt > inbox.MAX_ATTEMPTS:
            with db.session_scope(self.engine) as session:
                inbox.finish(session, inbox_id, "failed", error=f"gave up after {attempt - 1} attempts that never finished")
            return []
        error = ""
        for _ in range(DB_RETRIES):
            try:
                return self._apply(inbox_id, message)
            except sa_exc.DBAPIError as exc:
                error = f"{type(exc.orig).__name__}: {exc.orig}"
                log.warning("inbox message %s: database conflict, retrying: %s", inbox_id, error)
            except Exception as exc:  # the message stays stored and visible; never dropped
                log.exception("processing inbox message %s failed", inbox_id)
                with db.session_scope(self.engine) as session:
                    inbox.finish(session, inbox_id, "failed", error=f"{type(exc).__name__}: {exc}"[:500])
                return []
        with db.Session(self.engine) as session:
            inbox.note_error(session, inbox_id, error)
        return []

    def _apply(self, inbox_id: int, message: Message | None = None) -> list[OutboxMessage] | None:
        with inbox.writer_turn(self.engine), db.session_scope(self.engine) as session:
            payload = inbox.lock_for_processing(session, inbox_id)
            if payload is None:
                return None
            message = message or Message.model_validate(payload)
            replies = self.bot.handle(session, message)
            rows = [
                outbox.enqueue(session, r.reply, dedup_key=f"in:{inbox_id}:{r.key}", ticket_id=r.ticket_id, inbox_id=inbox_id)
                for r in replies
            ]
            photos.attach(session, message, max_bytes=self.settings.photos_max_bytes, now=self.clock())
            inbox.finish(session, inbox_id, "done" if replies else "ignored")
        return [r for r in rows if r is not None]

    def recover_inbox(self, older_than: timedelta = timedelta(seconds=30)) -> int:
        """Process messages that were accepted but never finished (a crash). Returns how many."""
        with db.Session(self.engine) as session:
            ids = inbox.unfinished(session, older_than=self.clock() - older_than)
        return sum(1 for i in ids if self.process(i) is not None)

    # -- outbound ------------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Deliver the due outbox rows this instance can claim. Returns how many were sent.

        Chats are served concurrently, each chat's replies in order."""
        rows = await run_in_threadpool(self._claim)
        by_chat: dict[str, list[OutboxMessage]] = {}
        for row in rows:
            by_chat.setdefault(row.chat_key, []).append(row)
        sent = sum(await asyncio.gather(*(self._deliver_in_order(chat_rows) for chat_rows in by_chat.values())))
        if sent:
            self.changed.set()
        return sent

    async def _deliver_in_order(self, rows: list[OutboxMessage]) -> int:
        sent = 0
        for row in rows:
            sent += await self._deliver_one(row)
        return sent

    async def _deliver_one(self, row: OutboxMessage) -> bool:
        adapter = self.adapters.get(row.platform)
        if adapter is None:
            await run_in_threadpool(self._failed, row, f"no adapter configured for platform {row.platform!r}", False, None)
            return False
        try:
            result = await adapter.deliver(outbox.reply_of(row))
        except RecipientUnreachable as exc:
            await run_in_threadpool(self._unreachable, row, exc.reason)
            return False
        except DeliveryError as exc:
            await run_in_threadpool(self._failed, row, exc.reason, exc.retryable, exc.retry_after)
            return False
        except Exception as exc:  # an adapter bug must not kill the worker
            log.exception("adapter %s crashed delivering outbox %s", row.platform, row.id)
            await run_in_threadpool(self._failed, row, f"{type(exc).__name__}: {exc}", True, None)
            return False
        await run_in_threadpool(self._sent, row, result.platform_message_id)
        return True

    def _claim(self) -> list[OutboxMessage]:
        limits = {platform: adapter.rate_limit for platform, adapter in self.adapters.items()}
        with db.Session(self.engine, expire_on_commit=False) as session:
            return outbox.claim_due(session, limit=OUTBOX_BATCH, now=self.clock(), limits=limits)

    def _sent(self, row: OutboxMessage, platform_message_id: str | None) -> None:
        with db.Session(self.engine) as session:
            if not outbox.mark_sent(session, row, platform_message_id, now=self.clock()):
                log.warning("outbox %s was sent after its lease ended; another sender may have sent it too", row.id)
        metrics.count_delivery(row.platform, "sent")

    def _unreachable(self, row: OutboxMessage, reason: str) -> None:
        """The person is out of reach on this platform: give up on the row, tell the grid worker."""
        self._failed(row, reason, False, None)
        with db.session_scope(self.engine) as session:
            notes = fallback.tell_grid_worker(session, row, reason, self.templates, self.adapters)
        log.warning("outbox %s to %s unreachable (%s); %d note(s) for the grid worker", row.id, row.chat_key, reason, notes)

    def mark_passive_delivered(self, ids: list[int]) -> list[int]:
        """Outbox rows answered inside the platform's HTTP response (WeChat's passive reply, the
        WeCom AI bot's encrypted answer): mark them sent so the worker does not send them again.
        Returns the ids marked; rows the worker already claimed are left to it."""
        with db.Session(self.engine) as session:
            return outbox.mark_passive(session, ids, now=self.clock())

    def _failed(self, row: OutboxMessage, reason: str, retryable: bool, retry_after: float | None) -> None:
        with db.Session(self.engine) as session:
            status = outbox.mark_failed(session, row, reason, retryable=retryable, retry_after=retry_after, now=self.clock())
        if status == "failed":
            log.error("outbox %s to %s failed for good: %s", row.id, row.chat_key, reason)
        result = "failed" if status == "failed" else ("rate_limited" if retry_after is not None else "retry")
        metrics.count_delivery(row.platform, result)

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

    def process_waiting(self, limit: int = INBOX_BATCH) -> int:
        """Process stored messages waiting for the inbox worker, oldest first. Returns how many.

        The batch is read and its attempts counted in two statements (not two per message);
        each message is then applied in its own transaction as :meth:`process` does."""
        with db.Session(self.engine) as session:
            attempts = inbox.claim_many(session, inbox.waiting(session, limit=limit))
        return sum(1 for i in sorted(attempts) if self._run(i, attempts[i]) is not None)

    async def _inbox_loop(self) -> None:
        """Processes deferred messages as soon as they are stored (and polls for other instances').

        Acceptance comes first: while webhooks are arriving (a group commit in the last
        :data:`INBOX_BUSY_WINDOW` s) the worker takes small batches and pauses between them,
        so the request path keeps most of this process's core (one GIL); a burst waits in the
        inbox and is drained at full speed once it is over. For more processing throughput
        run more processes (``linli serve`` instances or ``linli worker``), not threads."""
        while True:
            try:
                self._inbox_wakeup.clear()
                busy = time.monotonic() - self._last_accept < INBOX_BUSY_WINDOW
                started = time.monotonic()
                done = await run_in_threadpool(self.process_waiting, INBOX_BUSY_BATCH if busy else INBOX_BATCH)
                if done:
                    self.changed.set()
                    if busy:  # give the event loop (the webhooks) the GIL for a while
                        await asyncio.sleep((time.monotonic() - started) * INBOX_BUSY_PAUSE)
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("inbox worker iteration failed; retrying")
            try:
                await asyncio.wait_for(self._inbox_wakeup.wait(), timeout=self.settings.outbox_poll_seconds * 4)
            except TimeoutError:
                pass

    async def _recovery_loop(self) -> None:
        while True:
            try:
                await run_in_threadpool(self.recover_inbox)
            except Exception:
                log.exception("inbox recovery failed; retrying")
            await asyncio.sleep(15)

    async def start(self) -> None:
        self.changed.bind()
        for adapter in self.adapters.values():
            await adapter.start()
        # Load the classifier (jieba's dictionary, about 1 s) right after start-up rather than on
        # the first message, which on WeChat must be answered within 5 s; readiness does not wait.
        self._tasks.append(asyncio.create_task(run_in_threadpool(warm_classifier), name="linli-classifier-warmup"))
        if self.settings.run_inbox:
            await run_in_threadpool(self.recover_inbox, timedelta(0))
        if self.settings.run_outbox:
            self._tasks.append(asyncio.create_task(self._outbox_loop(), name="linli-outbox"))
        if self.settings.run_inbox:
            self._tasks.append(asyncio.create_task(self._recovery_loop(), name="linli-inbox-recovery"))
            self._tasks.append(asyncio.create_task(self._inbox_loop(), name="linli-inbox"))
        if self.settings.inbox_defer:
            # The inbox worker is CPU-bound Python; a shorter GIL switch interval (default 5 ms)
            # lets the event loop keep answering webhooks while it runs (bench/webhook.py:
            # 454 → 566 requests/s at 50 senders).
            sys.setswitchinterval(0.0005)
        if self.settings.run_photos:
            self._tasks.append(asyncio.create_task(photos.run_worker(self), name="linli-photos"))
        if self.settings.run_scheduler:
            self.scheduler.start()  # every instance schedules; a database lock picks the one that sweeps

    async def stop(self) -> None:
        self.scheduler.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for adapter in self.adapters.values():
            await adapter.stop()
