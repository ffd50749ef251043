"""What the WeChat/WeCom channel modules share: the token store, refusals, inline answers.

An "inline answer" is a reply carried in the platform's own HTTP response (WeChat's passive
reply, the WeCom AI bot's encrypted answer). The message is ingested, the replies addressed
back to its chat are taken from the outbox and marked sent, so the outbox worker does not send
them again. A platform retry of the same message gets the same answer again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from adapters.base import InboundError
from adapters.wx_common import NonceStore, check_replay
from core import outbox
from core.access_tokens import DatabaseTokenStore, RedisTokenStore
from core.message import Message, OutgoingReply
from core.models import OutboxMessage
from core.nonces import DatabaseNonceStore, RedisNonceStore

log = logging.getLogger("linli.wechat")

INLINE_DEADLINE_SECONDS = 4.0
"""WeChat waits 5 s for an answer; replies ready later go out through the outbox instead."""


def token_store(runtime):
    """Access tokens in Redis when LINLI_REDIS_URL is set, else in the shared database."""
    if runtime.settings.redis_url:
        return RedisTokenStore(runtime.settings.redis_url)
    return DatabaseTokenStore(runtime.engine)


def nonce_store(runtime) -> NonceStore:
    """Callback nonces where the access tokens are: Redis when LINLI_REDIS_URL is set, else the database."""
    if runtime.settings.redis_url:
        return RedisNonceStore(runtime.settings.redis_url)
    return DatabaseNonceStore(runtime.engine)


def query_of(request: Request) -> dict[str, str]:
    return dict(request.query_params)


Parsed = TypeVar("Parsed")


async def verified(request: Request, channel: str, parse: Callable[[dict[str, str], bytes], Parsed],
                   nonces: NonceStore) -> tuple[dict[str, str], Parsed, bool]:
    """Verify and parse a callback off the event loop, then check its nonce (:func:`check_replay`).

    Returns the query, what ``parse`` made of it, and whether this exact callback came before;
    raises InboundError (nothing is stored) for a bad signature, a stale timestamp or a replay."""
    query, body = query_of(request), await request.body()

    def run() -> tuple[Any, bool]:
        parsed = parse(query, body)
        return parsed, check_replay(nonces, channel, query, body)

    parsed, repeated = await run_in_threadpool(run)
    return query, parsed, repeated


def refused(request: Request, exc: InboundError) -> PlainTextResponse:
    log.warning("%s %s refused (%s): %s", request.method, request.url.path, exc.status, exc)
    return PlainTextResponse(str(exc), status_code=exc.status)


def add_url_verification(router: APIRouter, path: str, verify: Callable[[dict[str, str]], str]) -> None:
    """``GET path``: the platform's URL check; ``verify`` returns the text to echo or raises InboundError."""

    @router.get(path, include_in_schema=False)
    async def verify_url(request: Request) -> Response:
        try:
            echo = await run_in_threadpool(verify, query_of(request))
        except InboundError as exc:
            return refused(request, exc)
        return PlainTextResponse(echo)


def _answers(row: OutboxMessage, message: Message) -> bool:
    reply = outbox.reply_of(row)
    return reply.chat_key == message.chat_key and reply.recipient_id in (None, message.sender_id)


def _earlier_inline_answers(runtime, inbox_id: int) -> list[OutboxMessage]:
    with Session(runtime.engine) as session:
        return list(session.exec(
            select(OutboxMessage).where(OutboxMessage.inbox_id == inbox_id, OutboxMessage.platform_message_id == "passive")
            .order_by(col(OutboxMessage.id))
        ))


async def answer_inline(runtime, message: Message, *, deadline: float | None = None) -> list[OutgoingReply]:
    """Ingest ``message``; return the replies to put in the HTTP answer (already marked sent)."""
    started = time.monotonic()
    result = await runtime.ingest(message, defer=False)  # the answer goes in the HTTP response
    if result.duplicate:  # a platform retry: repeat what the first attempt answered, if it finished
        rows = await run_in_threadpool(_earlier_inline_answers, runtime, result.inbox_id)
        return [outbox.reply_of(r) for r in rows]
    rows = [r for r in result.outbox if _answers(r, message)]
    if not rows or time.monotonic() - started > (INLINE_DEADLINE_SECONDS if deadline is None else deadline):
        return []  # too late for the platform's window: the outbox worker sends them
    marked = set(await run_in_threadpool(runtime.mark_passive_delivered, [r.id for r in rows]))
    return [outbox.reply_of(r) for r in rows if r.id in marked]
