"""Webhooks answered ahead of the framework's middleware, routing and dependency injection.

A platform's webhook is the one endpoint that takes every message of every group, and its
handler needs none of what FastAPI adds per request (validation, dependencies, exception
middleware): it reads the body, checks a secret, stores the message and answers. Served
from :class:`LinliApp` before FastAPI sees the request, ``POST /webhooks/telegram`` costs
about a third less CPU, which is what lets one process accept at over half the rate of an
empty FastAPI endpoint (bench/webhook.py, BENCHMARKS.md).

A handler gets the request's headers (lower-case names) and body and returns an
:class:`Answer`; its ``after`` coroutine runs once the response is sent, as Starlette's
background tasks do. The body limit is the app's (``LINLI_MAX_BODY_BYTES``); a handler
that raises answers 500 without a trace and is logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI

log = logging.getLogger("linli.http")


@dataclass(frozen=True)
class Answer:
    """A webhook's response: status, JSON body, and work to do after it is sent."""

    status: int
    body: dict
    after: Callable[[], Awaitable[None]] | None = None


Handler = Callable[[dict[str, str], bytes], Awaitable[Answer]]

_OK = b'{"ok":true}'
_GONE = object()  # the client went away before the body was read


class LinliApp(FastAPI):
    """FastAPI with a table of POST webhooks that bypass it (see the module's docstring)."""

    def __init__(self, *args, max_body_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_body_bytes = max_body_bytes
        self.fast_routes: dict[str, Handler] = {}

    def add_fast_route(self, path: str, handler: Handler) -> None:
        """Serve ``POST path`` with ``handler``; other methods get 405."""
        if path in self.fast_routes:
            raise ValueError(f"{path} already has a webhook handler; one route serves one path")
        self.fast_routes[path] = handler

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            handler = self.fast_routes.get(scope["path"])
            if handler is not None:
                await self._serve(handler, scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def _serve(self, handler: Handler, scope, receive, send) -> None:
        if scope["method"] != "POST":
            await _respond(send, 405, {"detail": "use POST"}, extra=[(b"allow", b"POST")])
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length", "")
        if length.isdecimal() and int(length) > self.max_body_bytes:
            await _respond(send, 413, {"detail": f"request body over {self.max_body_bytes} bytes"})
            return
        body = await _read_body(receive, self.max_body_bytes)
        if body is _GONE:
            return
        if body is None:
            await _respond(send, 413, {"detail": f"request body over {self.max_body_bytes} bytes"})
            return
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


async def _read_body(receive, limit: int) -> bytes | None | object:
    """The whole body; None when it is over ``limit``; ``_GONE`` when the client went away."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _GONE
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send, status: int, body: dict, extra: list[tuple[bytes, bytes]] = ()) -> None:
    payload = _OK if body == {"ok": True} else json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *extra]})
    await send({"type": "http.response.body", "body": payload})
