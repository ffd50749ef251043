"""Photos: which ticket an image belongs to (at ingest), and the worker that fetches them.

:func:`attach` runs in the transaction that handled the message, after the bot, so it sees
the ticket the message created or joined. An image belongs to, in this order:

1. the ticket its sender (a grid worker or assignee) resolved (办结) from this chat within
   :data:`core.photos.RESULT_WINDOW`: the result photo (工作留痕);
2. the ticket this message created or joined;
3. the ticket of the bot message it replies to;
4. the ticket of a follow-up question the bot asked this person in this chat (「在哪个位置？」);
5. the open ticket this person reported in this chat within :data:`core.photos.ADOPT_WINDOW`.

Otherwise, in a chat bound to a grid, it waits without a ticket (not fetched) and joins the
ticket this person files here within the same window (photo first, words second).

:class:`PhotoWorker` fetches due photos (see :mod:`core.photos` for the claim), checks them
and stores them (:mod:`bots.photo_store`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

import httpx
import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from adapters.base import ChannelAdapter
from adapters.media import Fetch, MediaError
from adapters.registry import image_refs
from bots.photo_store import PhotoStore, store_for
from core import db
from core import photos as core_photos
from core.message import Message, MessageKind
from core.models import Chat, InboxMessage, OutboxMessage, PendingQuestion, Photo, Ticket, TicketEvent, TicketReporter, utcnow
from core.photos import ADOPT_WINDOW, RESULT_WINDOW, Refused, check_content
from core.ticket_states import TicketState

log = logging.getLogger("linli.photos")
WORKER_BATCH = 8


# -- which ticket ------------------------------------------------------------------------------


def _resolved_here(session: Session, message: Message, now: datetime) -> int | None:
    """The ticket this sender resolved from this chat within the result window, if any."""
    from_here = sa.select(col(InboxMessage.id)).where(col(InboxMessage.chat_key) == message.chat_key,
                                                      col(InboxMessage.sender_key) == message.sender_key,
                                                      col(InboxMessage.received_at) >= now - RESULT_WINDOW)
    told_here = sa.select(col(OutboxMessage.ticket_id)).where(col(OutboxMessage.inbox_id).in_(from_here))
    return session.exec(
        select(TicketEvent.ticket_id).where(
            TicketEvent.actor == message.sender_key, TicketEvent.to_state == TicketState.RESOLVED.value,
            TicketEvent.created_at >= now - RESULT_WINDOW, col(TicketEvent.ticket_id).in_(told_here))
        .order_by(col(TicketEvent.id).desc())
    ).first()


def _filed_by(session: Session, message: Message) -> int | None:
    """The ticket this very message created or joined."""
    created = session.exec(select(Ticket.id).where(Ticket.chat_key == message.chat_key,
                                                   Ticket.origin_message_id == message.message_id)).first()
    if created is not None:
        return created
    return session.exec(select(TicketReporter.ticket_id).where(
        TicketReporter.person_key == message.sender_key, TicketReporter.chat_key == message.chat_key,
        TicketReporter.message_id == message.message_id)).first()


def _conversation(session: Session, message: Message, now: datetime) -> int | None:
    """The ticket the message answers: a bot message it replies to, a follow-up question, a recent report."""
    if message.reply_to_message_id:
        replied = session.exec(select(OutboxMessage.ticket_id).where(
            OutboxMessage.chat_key == message.chat_key, OutboxMessage.platform_message_id == message.reply_to_message_id,
            col(OutboxMessage.ticket_id).is_not(None))).first()
        if replied is not None:
            return replied
    asked = session.exec(select(PendingQuestion.ticket_id).where(
        PendingQuestion.person_key == message.sender_key, PendingQuestion.chat_key == message.chat_key,
        col(PendingQuestion.ticket_id).is_not(None), PendingQuestion.asked_at >= now - ADOPT_WINDOW)
        .order_by(col(PendingQuestion.id).desc())).first()
    if asked is not None:
        return asked
    open_states = [s.value for s in TicketState if s.is_open]
    return session.exec(
        select(TicketReporter.ticket_id).join(Ticket, col(Ticket.id) == col(TicketReporter.ticket_id)).where(
            TicketReporter.person_key == message.sender_key, TicketReporter.chat_key == message.chat_key,
            TicketReporter.joined_at >= now - ADOPT_WINDOW, col(Ticket.state).in_(open_states))
        .order_by(col(TicketReporter.joined_at).desc())).first()


def attach(session: Session, message: Message, *, max_bytes: int, now: datetime | None = None) -> list[Photo]:
    """Record the message's images with the ticket they belong to (module doc); adopt waiting ones.

    Runs inside the caller's transaction, after the bot handled the message. Returns the new rows."""
    if message.kind is not MessageKind.MESSAGE:
        return []
    now = now or utcnow()
    refs = image_refs(message, max_bytes)
    if not refs and not core_photos.waiting(session, chat_key=message.chat_key, sender_key=message.sender_key, now=now):
        return []  # most messages: one indexed look-up and done
    filed = _filed_by(session, message)
    if filed is not None:
        core_photos.adopt(session, filed, chat_key=message.chat_key, sender_key=message.sender_key, now=now)
    if not refs:
        return []
    chat = session.get(Chat, message.chat_key)
    if chat is None or chat.grid_id is None or not chat.active:
        return []  # a chat no grid has claimed: its pictures are nobody's business here
    role, ticket_id = "report", filed
    if ticket_id is None and (resolved := _resolved_here(session, message, now)) is not None:
        role, ticket_id = "result", resolved
    elif ticket_id is None:
        ticket_id = _conversation(session, message, now)
    return core_photos.record(session, platform=message.platform, chat_key=message.chat_key, sender_key=message.sender_key,
                              message_id=message.message_id, refs=refs, ticket_id=ticket_id, role=role, now=now)


# -- the worker ------------------------------------------------------------------------------


def fetchers_for(adapters: Mapping[str, ChannelAdapter], client: httpx.AsyncClient) -> dict[str, Fetch]:
    """A download function per mounted channel that offers one (``ChannelAdapter.media_fetcher``);
    images of other platforms fail with a reason."""
    return {platform: fetch for platform, adapter in adapters.items()
            if (fetch := adapter.media_fetcher(client)) is not None}


class PhotoWorker:
    """Fetches due photos: claim (one worker per photo), download, check, store, record."""

    def __init__(self, engine: sa.Engine, store: PhotoStore, fetchers: Mapping[str, Fetch], *, max_bytes: int,
                 clock: Callable[[], datetime] = utcnow, on_change: Callable[[], None] | None = None):
        self.engine, self.store, self.fetchers = engine, store, fetchers
        self.max_bytes, self.clock, self.on_change = max_bytes, clock, on_change

    def _claim(self) -> list[Photo]:
        with db.Session(self.engine, expire_on_commit=False) as session:
            return core_photos.claim_due(session, limit=WORKER_BATCH, now=self.clock())

    def _failed(self, row: Photo, reason: str, retryable: bool) -> None:
        with db.Session(self.engine) as session:
            state = core_photos.mark_failed(session, row, reason, retryable=retryable, now=self.clock())
        (log.warning if state == "failed" else log.info)("photo %s of ticket #%s: %s (%s)", row.id, row.ticket_id, reason, state)

    def _store(self, row: Photo, data: bytes, content_type: str) -> None:
        digest = self.store.put(data, content_type)
        with db.Session(self.engine) as session:
            if not core_photos.mark_fetched(session, row, sha256=digest, content_type=content_type, size=len(data),
                                            now=self.clock()):
                log.info("photo %s was fetched after its lease ended; the stored copy is the same content", row.id)

    async def fetch_one(self, row: Photo) -> bool:
        """Fetch and keep one claimed photo. True when stored; a failure is recorded on the row."""
        fetch = self.fetchers.get(row.platform)
        if fetch is None:
            reason = f"no downloader for platform {row.platform!r} is configured here; configure it, then 重试 in the console"
            await run_in_threadpool(self._failed, row, reason, False)
            return False
        try:
            data = await fetch(row.ref, self.max_bytes)
            content_type = check_content(data, self.max_bytes)
            await run_in_threadpool(self._store, row, data, content_type)
        except MediaError as exc:
            await run_in_threadpool(self._failed, row, exc.reason, exc.retryable)
            return False
        except Refused as exc:
            await run_in_threadpool(self._failed, row, str(exc), False)
            return False
        except Exception as exc:  # a store or platform bug must not kill the worker; the row is retried
            log.exception("fetching photo %s failed", row.id)
            await run_in_threadpool(self._failed, row, f"{type(exc).__name__}: {exc}", True)
            return False
        return True

    async def run_once(self) -> int:
        """Fetch the photos due now. Returns how many were claimed (stored or not)."""
        rows = await run_in_threadpool(self._claim)
        results = await asyncio.gather(*(self.fetch_one(r) for r in rows))
        if rows and self.on_change is not None:
            self.on_change()
        return len(results)

    async def run(self, poll_seconds: float) -> None:
        """Loop until cancelled: fetch what is due, else wait ``poll_seconds``."""
        while True:
            try:
                if not await self.run_once():
                    await asyncio.sleep(poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("photo worker iteration failed; retrying")
                await asyncio.sleep(poll_seconds)


def worker_for(runtime, client: httpx.AsyncClient) -> PhotoWorker:
    """The runtime's photo worker: its settings' store and the downloaders of its platforms."""
    settings = runtime.settings
    return PhotoWorker(runtime.engine, store_for(settings), fetchers_for(runtime.adapters, client),
                       max_bytes=settings.photos_max_bytes, clock=runtime.clock, on_change=runtime.changed.set)


async def run_worker(runtime) -> None:
    """The background task ``linli serve`` starts when LINLI_RUN_PHOTOS is on (the default)."""
    async with httpx.AsyncClient(timeout=20.0, headers={"User-Agent": "linli"}, follow_redirects=True) as client:
        await worker_for(runtime, client).run(runtime.settings.photos_poll_seconds)
