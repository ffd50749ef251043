"""Images in inbound messages, the platform-neutral part: the download type, its error, a
size-limited GET, and the default reading of which images a message carries.

Each channel declares its own images through the contract (:mod:`adapters.base`):
``ChannelSpec.image_refs(message, max_bytes)`` reads the references a message carries (by
default its image attachments, :func:`attached_images`), and the delivering adapter's
``media_fetcher(client)`` gives the :data:`Fetch` that downloads one (it holds the credentials).
The platforms' own code lives in their packages (``adapters/<platform>/media.py``,
``adapters/wx_media.py`` for the WeChat family).

Nothing here touches tickets. Errors are :class:`MediaError` with ``retryable`` set as the outbox would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from core.message import AttachmentKind, Message

Fetch = Callable[[str, int], Awaitable[bytes]]  # (reference, max bytes) → bytes


class MediaError(Exception):
    """A download that did not give the image; ``retryable`` False means trying again cannot help."""

    def __init__(self, reason: str, *, retryable: bool):
        super().__init__(reason)
        self.reason, self.retryable = reason, retryable


def attached_images(message: Message, max_bytes: int) -> list[str]:
    """The references of the message's image attachments, in the order they were sent (the
    default ``image_refs`` of a channel; ``max_bytes`` is for channels that offer several sizes)."""
    return [a.ref for a in message.attachments if a.kind is AttachmentKind.IMAGE and a.ref]


# -- downloading ------------------------------------------------------------------------------------


async def download(client: httpx.AsyncClient, url: str, max_bytes: int, *, label: str | None = None,
                   **kwargs: Any) -> tuple[bytes, str]:
    """GET ``url`` and read at most ``max_bytes``; (body, content type). A bigger body is refused
    without reading the rest; 5xx, 429 and network trouble are retryable, other statuses are not.
    Errors name ``label`` (default: the URL without its query), never a credential in the URL."""
    safe = label or url.split("?", 1)[0]
    try:
        async with client.stream("GET", url, **kwargs) as response:
            if response.status_code >= 500 or response.status_code == 429:
                raise MediaError(f"{safe} answered HTTP {response.status_code}", retryable=True)
            if response.status_code >= 400:
                raise MediaError(f"{safe} answered HTTP {response.status_code}", retryable=False)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise MediaError(f"too big: {declared} bytes, the limit is {max_bytes}", retryable=False)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise MediaError(f"too big: over {max_bytes} bytes", retryable=False)
            return bytes(body), response.headers.get("content-type", "")
    except httpx.HTTPError as exc:
        raise MediaError(f"GET {safe} failed: {type(exc).__name__}", retryable=True) from exc

