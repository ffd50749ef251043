"""Telegram's images: which ``file_id`` a message carries, and how its bytes are fetched.

``message.photo`` holds several sizes of one photo (smallest first, each with ``file_size``);
``message.document`` with an ``image/*`` MIME type is a photo sent as a file. Bytes come from
``getFile`` then ``/file/bot<token>/<file_path>`` (the Bot API serves files up to 20 MB).
No aiogram here: the registry imports this with the package.
"""

from __future__ import annotations

from typing import Any

import httpx

from adapters.media import Fetch, MediaError, download
from core.message import Message

TELEGRAM_API = "https://api.telegram.org"


def _telegram_message(raw: dict[str, Any]) -> dict[str, Any]:
    for key in ("message", "channel_post"):
        if isinstance(raw.get(key), dict):
            return raw[key]
    return {}


def telegram_refs(raw: dict[str, Any], max_bytes: int) -> list[str]:
    """The ``file_id`` of the largest photo size within ``max_bytes`` (the largest of all when none
    is, so the refusal is recorded), and of a document sent as an image file."""
    m = _telegram_message(raw)
    refs: list[str] = []
    sizes = [s for s in m.get("photo") or [] if isinstance(s, dict) and s.get("file_id")]
    if sizes:
        def area(s: dict) -> int:
            return int(s.get("width") or 0) * int(s.get("height") or 0)
        fitting = [s for s in sizes if int(s.get("file_size") or 0) <= max_bytes]
        refs.append(max(fitting or sizes, key=lambda s: (area(s), int(s.get("file_size") or 0)))["file_id"])
    doc = m.get("document")
    if isinstance(doc, dict) and doc.get("file_id") and str(doc.get("mime_type") or "").startswith("image/"):
        refs.append(doc["file_id"])
    return refs


def image_refs(message: Message, max_bytes: int) -> list[str]:
    """The channel's ``image_refs``: read from the Update itself (``Message.raw``)."""
    return telegram_refs(message.raw, max_bytes)


def telegram_fetcher(client: httpx.AsyncClient, token: str, api_base: str | None = None) -> Fetch:
    """Bytes of a Telegram ``file_id``: ``getFile``, then the file path under ``/file/bot<token>/``."""
    base = (api_base or TELEGRAM_API).rstrip("/")

    async def fetch(file_id: str, max_bytes: int) -> bytes:
        try:
            answer = await client.post(f"{base}/bot{token}/getFile", data={"file_id": file_id})
        except httpx.HTTPError as exc:
            raise MediaError(f"getFile failed: {type(exc).__name__}", retryable=True) from exc
        if answer.status_code >= 500 or answer.status_code == 429:
            raise MediaError(f"getFile answered HTTP {answer.status_code}", retryable=True)
        try:
            data = answer.json()
        except ValueError:
            data = {}
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, dict) or not result.get("file_path"):
            desc = data.get("description", "") if isinstance(data, dict) else ""
            raise MediaError(f"getFile answered HTTP {answer.status_code} {desc}".strip(), retryable=False)
        if int(result.get("file_size") or 0) > max_bytes:
            raise MediaError(f"too big: {result['file_size']} bytes, the limit is {max_bytes}", retryable=False)
        body, _ = await download(client, f"{base}/file/bot{token}/{result['file_path']}", max_bytes,
                                 label="the Telegram file download")  # the path holds the bot token
        return body

    return fetch
