"""Wires the configured channels (adapters.registry) into the app through one port, :class:`ChannelHost`.

A channel's ``channel`` module is imported only when its platform is configured, so an unused
SDK (aiogram, wechatpy) costs nothing at start-up. Mounting one gives a
:class:`~adapters.base.Wiring`: its senders are registered with the runtime, its routes added
(a route that declares ``fast=True`` is served by :class:`bots.fast_path.LinliApp` before FastAPI),
and its state exposed on ``app.state``.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from adapters.base import ChannelAdapter, Route
from adapters.registry import enabled_channels, notice_receiver, playground_mode, real_channels
from bots.fast_path import LinliApp
from core import outbox
from core.access_tokens import DatabaseTokenStore, RedisTokenStore
from core.message import Message, OutgoingReply
from core.models import OutboxMessage
from core.nonces import DatabaseNonceStore, RedisNonceStore

__all__ = ["ChannelHost", "enabled_channels", "mount_channels", "notice_receiver", "playground_mode", "real_channels"]

INLINE_DEADLINE_SECONDS = 4.0
"""WeChat waits 5 s for an answer; replies ready later go out through the outbox instead."""


class ChannelHost:
    """The port every channel gets (:class:`adapters.base.Host`): hands its messages to the runtime
    and lends it the shared stores and locks. Channels never see tickets, only this."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.settings = runtime.settings
        self.engine = runtime.engine  # a channel's own records (the chat archive's cursor and records)
        # a test or a demo may set runtime.archive_source to replace the chat archive's Finance SDK
        self.archive_source = getattr(runtime, "archive_source", None)

    async def ingest(self, message: Message, *, defer: bool | None = None):
        return await self.runtime.ingest(message, defer=defer)

    def process(self, inbox_id: int):
        """Process one stored inbox row now (a channel that stores in bulk, like the chat archive)."""
        return self.runtime.process(inbox_id)

    def notify_changed(self) -> None:
        self.runtime.changed.set()

    def adapter(self, platform: str) -> ChannelAdapter | None:
        """Another channel's sender (the chat archive relays through the WeCom app)."""
        return self.runtime.adapters.get(platform)

    def render(self, name: str, **values: Any) -> str:
        return self.runtime.templates.render(name, **values)

    def token_store(self):
        """Access tokens in Redis when LINLI_REDIS_URL is set, else in the shared database."""
        if self.settings.redis_url:
            return RedisTokenStore(self.settings.redis_url)
        return DatabaseTokenStore(self.engine)

    def nonce_store(self):
        """Callback nonces where the access tokens are: Redis when LINLI_REDIS_URL is set, else the database."""
        if self.settings.redis_url:
            return RedisNonceStore(self.settings.redis_url)
        return DatabaseNonceStore(self.engine)

    def database_store(self):
        return DatabaseTokenStore(self.engine)

    def singleton_lock(self, name: str):
        from core.locks import HeldLock

        return HeldLock(self.engine, name=name)

    def page(self, name: str, **options: Any) -> APIRouter:
        if name != "playground":
            raise ValueError(f"no page named {name!r} for a channel")
        from bots import playground

        return playground.router(self.runtime, **options)

    async def answer_inline(self, message: Message, *, deadline: float | None = None) -> list[OutgoingReply]:
        """Ingest ``message``; return the replies to put in the platform's answer (already marked sent).

        An "inline answer" is a reply carried in the platform's own response (WeChat's passive reply,
        the WeCom AI bot's encrypted answer or its long connection's stream). The replies addressed
        back to the message's chat are taken from the outbox and marked sent, so the outbox worker
        does not send them again. A platform retry of the same message gets the same answer again."""
        started = time.monotonic()
        result = await self.runtime.ingest(message, defer=False)  # the answer goes in the platform's response
        if result.duplicate:  # a platform retry: repeat what the first attempt answered, if it finished
            rows = await run_in_threadpool(self._earlier_inline_answers, result.inbox_id)
            return [outbox.reply_of(r) for r in rows]
        rows = [r for r in result.outbox if _answers(r, message)]
        if not rows or time.monotonic() - started > (INLINE_DEADLINE_SECONDS if deadline is None else deadline):
            return []  # too late for the platform's window: the outbox worker sends them
        marked = set(await run_in_threadpool(self.runtime.mark_passive_delivered, [r.id for r in rows]))
        return [outbox.reply_of(r) for r in rows if r.id in marked]

    def _earlier_inline_answers(self, inbox_id: int) -> list[OutboxMessage]:
        with Session(self.engine) as session:
            return list(session.exec(
                select(OutboxMessage).where(OutboxMessage.inbox_id == inbox_id, OutboxMessage.platform_message_id == "passive")
                .order_by(OutboxMessage.id)  # type: ignore[arg-type]
            ))


def _answers(row: OutboxMessage, message: Message) -> bool:
    reply = outbox.reply_of(row)
    return reply.chat_key == message.chat_key and reply.recipient_id in (None, message.sender_id)


def _add_route(app: LinliApp, route: Route | APIRouter) -> None:
    if isinstance(route, APIRouter):
        app.include_router(route)
    elif route.fast:
        app.add_fast_route(route.path, route.endpoint)
    else:
        app.add_api_route(route.path, route.endpoint, methods=list(route.methods), include_in_schema=False)


def mount_channels(app: LinliApp, runtime) -> list[str]:
    """Mount every configured channel; returns their names."""
    host = ChannelHost(runtime)
    names = []
    for spec in enabled_channels(runtime.settings):
        wiring = spec.mount(host)
        for adapter in wiring.adapters:
            runtime.register(adapter)
        for route in wiring.routes:
            _add_route(app, route)
        for key, value in wiring.state.items():
            setattr(app.state, key, value)
        names.append(spec.name)
    return names
