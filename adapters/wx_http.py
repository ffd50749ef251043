"""What the WeChat-family channels' webhook routes share: verification off the event loop,
replay checks, refusals, and the platforms' GET URL check."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from adapters.base import InboundError, Route
from adapters.wx_common import NonceStore, check_replay

log = logging.getLogger("linli.wechat")


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


def url_verification(path: str, verify: Callable[[dict[str, str]], str]) -> Route:
    """``GET path``: the platform's URL check; ``verify`` returns the text to echo or raises InboundError."""

    async def verify_url(request: Request) -> Response:
        try:
            echo = await run_in_threadpool(verify, query_of(request))
        except InboundError as exc:
            return refused(request, exc)
        return PlainTextResponse(echo)

    return Route(path, verify_url, methods=("GET",))
