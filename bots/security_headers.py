"""Headers that keep the console, the API and the playground out of other sites' frames and guesses.

Every response of the app gets ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
``Referrer-Policy: same-origin`` and a Content-Security-Policy with ``frame-ancestors 'none'``:

- pages rendered from data (the console) may load scripts, styles, images and connections from
  this origin only, so text a resident typed can never run even if escaping failed somewhere;
- the app's own static pages with inline ``<script>``/``<style>`` blocks (the playground) get the
  same policy plus the SHA-256 of exactly the blocks served, computed from the response itself;
- the documentation pages (/docs, /redoc, bots/api_docs.py) set their own local-only policy, which
  allows their inline start-up scripts; any other response under those paths gets at least
  ``frame-ancestors 'none'``.

A response that sets its own Content-Security-Policy keeps it.
"""

from __future__ import annotations

import base64
import hashlib
import re

STRICT = ("default-src 'self'; script-src 'self'{scripts}; style-src 'self'{styles}; img-src 'self' data:; "
          "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
          "frame-ancestors 'none'")
FRAMES_ONLY = "frame-ancestors 'none'; object-src 'none'; base-uri 'none'"
COMMON = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
INLINE = re.compile(rb"<(script|style)(?![^>]*\bsrc=)[^>]*>(.*?)</\1\s*>", re.S | re.I)


def inline_hashes(html: bytes) -> tuple[str, str]:
    """CSP sources for the inline scripts and styles of a page: ``('sha256-…' …, 'sha256-…' …)``."""
    found: dict[bytes, list[str]] = {b"script": [], b"style": []}
    for tag, body in INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        found[tag.lower()].append(f" 'sha256-{digest}'")
    return "".join(found[b"script"]), "".join(found[b"style"])


class SecurityHeadersMiddleware:
    """Add the headers above to every HTTP response (pure ASGI: streaming responses stay streaming)."""

    def __init__(self, app, *, inline_pages: frozenset[str] = frozenset({"/playground"}),
                 frames_only: tuple[str, ...] = ("/docs", "/redoc")):
        self.app = app
        self.inline_pages = inline_pages
        self.frames_only = frames_only
        self.strict = STRICT.format(scripts="", styles="").encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path in self.inline_pages:
            return await self._with_hashes(scope, receive, send)
        policy = FRAMES_ONLY.encode() if path.startswith(self.frames_only) else self.strict

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = _merged(message.get("headers") or [], policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _with_hashes(self, scope, receive, send):
        """A static page: hold the (small) response until its body is complete, then hash its inline blocks."""
        start: dict | None = None
        chunks: list[bytes] = []

        async def hold(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            scripts, styles = inline_hashes(body)
            start["headers"] = _merged(start.get("headers") or [], STRICT.format(scripts=scripts, styles=styles).encode())
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, hold)


def _merged(headers, policy: bytes) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    out = list(headers) + [(name, value) for name, value in COMMON if name not in present]
    if b"content-security-policy" not in present:
        out.append((b"content-security-policy", policy))
    return out
