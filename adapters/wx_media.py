"""The WeChat family's images (Official Account and WeCom app): ``MediaId`` (temporary media,
three days) fetched with ``/cgi-bin/media/get?access_token=…&media_id=…``; ``PicUrl`` when there
is no MediaId. No wechatpy here: the registry imports this with the packages.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from adapters.media import MediaError, attached_images, download
from core.message import Message


def image_refs(message: Message, max_bytes: int) -> list[str]:
    """An image message's ``MediaId`` (else its ``PicUrl``); other messages' image attachments."""
    raw = message.raw
    if (raw.get("MediaId") or raw.get("PicUrl")) and raw.get("MsgType") == "image":
        return [raw.get("MediaId") or raw["PicUrl"]]
    return attached_images(message, max_bytes)


@dataclass
class WxMedia:
    """``/cgi-bin/media/get`` of the Official Account or the WeCom app, with its access token."""

    client: httpx.AsyncClient
    api_base: str
    token: Callable[[], Awaitable[str]]
    invalidate: Callable[[str], Awaitable[None]] | None = None

    async def __call__(self, ref: str, max_bytes: int) -> bytes:
        if ref.startswith(("http://", "https://")):
            return (await download(self.client, ref, max_bytes, label="PicUrl"))[0]
        for attempt in (1, 2):
            token = await self.token()
            body, ctype = await download(self.client, f"{self.api_base}/cgi-bin/media/get", max_bytes,
                                         label="media/get", params={"access_token": token, "media_id": ref})
            if "json" not in ctype and not body.lstrip().startswith(b"{"):
                return body
            error = _errcode(body)  # the platform answers errors as JSON with HTTP 200
            if error in (40001, 40014, 42001) and attempt == 1 and self.invalidate is not None:
                await self.invalidate(token)
                continue
            raise MediaError(f"media/get: errcode {error}", retryable=error in (-1, 45009, 40001, 42001))
        raise AssertionError("unreachable")


def _errcode(body: bytes) -> int:
    try:
        return int(json.loads(body).get("errcode") or 0)
    except (ValueError, AttributeError, TypeError):
        return -1
