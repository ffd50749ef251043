"""Webhooks answered ahead of the framework's middleware, routing and dependency injection.

A platform's webhook is the one endpoint that takes every message of every group, and its
handler needs none of what FastAPI adds per request (validation, dependencies, exception
middleware): it reads the body, checks a secret, stores the message and answers. A channel's
route declares ``fast=True`` (:class:`adapters.base.Route`) to be served from :class:`LinliApp`
before FastAPI sees the request; so served, ``POST /webhooks/telegram`` costs
about a third less CPU, which is what lets one process accept at over half the rate of an
empty FastAPI endpoint (bench/webhook.py, BENCHMARKS.md).

A handler gets the request's headers (lower-case names) and body and returns an
:class:`adapters.base.Answer`; its ``after`` coroutine runs once the response is sent, as Starlette's
background tasks do. Bodies go through :class:`BodyLimitMiddleware`, the limiter every other
route gets too (``LINLI_MAX_BODY_BYTES``); a handler that raises answers 500 without a trace
and is logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from adapters.base import Answer

log = logging.getLogger("linli.http")


Handler = Callable[[dict[str, str], bytes], Awaitable[Answer]]

_OK = b'{"ok":true}'
_GONE = object()  # the client went away before the body was read


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413 before reading them into memory."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or {}).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            response = JSONResponse({"detail": f"request body over {self.max_bytes} bytes"}, status_code=413)
            return await response(scope, receive, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            response = JSONResponse({"detail": f"request body over {self.max_bytes} bytes"}, status_code=413)
            await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class LinliApp(FastAPI):
    """FastAPI with a table of POST webhooks that bypass it (see the module's docstring)."""

    def __init__(self, *args, max_body_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fast_routes: dict[str, Handler] = {}
        # the same limiter FastAPI's routes get as middleware (bots/app.py)
        self._serve_limited = BodyLimitMiddleware(self._serve, max_body_bytes)

    def add_fast_route(self, path: str, handler: Handler) -> None:
        """Serve ``POST path`` with ``handler``; other methods get 405."""
        if path in self.fast_routes:
            raise ValueError(f"{path} already has a webhook handler; one route serves one path")
        self.fast_routes[path] = handler

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] in self.fast_routes:
            await self._serve_limited(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _serve(self, scope, receive, send) -> None:
        handler = self.fast_routes[scope["path"]]
        if scope["method"] != "POST":
            await _respond(send, 405, {"detail": "use POST"}, extra=[(b"allow", b"POST")])
            return
        body = await _read_body(receive)
        if not isinstance(body, bytes):  # _GONE
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            answer = await handler(headers, body)
        except Exception:
            log.exception("webhook %s failed", scope["path"])
            await _respond(send, 500, {"detail": "internal error; nothing was acknowledged, so the platform will retry"})
            return
        await _respond(send, answer.status, answer.body)
        if answer.after is not None:
            try:
                await answer.after()
            except Exception:
                log.exception("work after answering %s failed", scope["path"])


async def _read_body(receive) -> bytes | object:
    """The whole body, or ``_GONE`` when the client went away (the limiter refuses one too large)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _GONE
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send, status: int, body: dict, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    payload = _OK if body == {"ok": True} else json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *extra]})
    await send({"type": "http.response.body", "body": payload})
