"""Images in inbound messages: which references a message carries, and how to download each one.

Platforms name images differently:

- Telegram: ``message.photo`` (several sizes of one photo, smallest first, each with
  ``file_size``) and ``message.document`` with an ``image/*`` MIME type. Bytes come from
  ``getFile`` then ``/file/bot<token>/<file_path>`` (the Bot API serves files up to 20 MB).
- WeCom AI bot (智能机器人): ``image.url`` (msgtype ``image`` and items of ``mixed``), valid
  five minutes; the bytes are AES-256-CBC encrypted with the bot's EncodingAESKey (key =
  base64 of it, IV = the key's first 16 bytes, PKCS#7 padding to 32 bytes).
- WeChat Official Account / WeCom app: ``MediaId`` (temporary media, three days) fetched with
  ``/cgi-bin/media/get?access_token=…&media_id=…``; ``PicUrl`` when there is no MediaId.

Everything here reads the platform's own payload (``Message.raw``) or talks to the platform;
nothing touches tickets. Errors are :class:`MediaError` with ``retryable`` set as the outbox would.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from core.message import AttachmentKind, Message

TELEGRAM_API = "https://api.telegram.org"
Fetch = Callable[[str, int], Awaitable[bytes]]  # (reference, max bytes) → bytes


class MediaError(Exception):
    """A download that did not give the image; ``retryable`` False means trying again cannot help."""

    def __init__(self, reason: str, *, retryable: bool):
        super().__init__(reason)
        self.reason, self.retryable = reason, retryable


# -- which images a message carries ---------------------------------------------------------------


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
    """The references of the images in ``message``, in the order they were sent."""
    if message.platform == "telegram":
        return telegram_refs(message.raw, max_bytes)
    if message.platform in ("wechat", "wecom") and (message.raw.get("MediaId") or message.raw.get("PicUrl")):
        if message.raw.get("MsgType") == "image":
            return [message.raw.get("MediaId") or message.raw["PicUrl"]]
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


def wecom_bot_key(encoding_aes_key: str) -> bytes:
    """The AES key of an EncodingAESKey (43 characters of base64)."""
    try:
        key = base64.b64decode(encoding_aes_key + "=")
    except binascii.Error as exc:
        raise ValueError("the EncodingAESKey is not base64 (43 characters from the bot's settings)") from exc
    if len(key) != 32:
        raise ValueError("the EncodingAESKey must decode to 32 bytes (43 characters)")
    return key


def wecom_bot_decrypt(data: bytes, encoding_aes_key: str) -> bytes:
    """Decrypt an AI-bot file: AES-256-CBC, IV = key[:16], PKCS#7 padding to a multiple of 32."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = wecom_bot_key(encoding_aes_key)
    if len(data) % 16:
        try:  # some gateways hand the ciphertext over base64-encoded
            data = base64.b64decode(data, validate=True)
        except binascii.Error:
            pass
    if not data or len(data) % 16:
        raise MediaError("the encrypted image is not a whole number of AES blocks", retryable=False)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 32 or plain[-pad:] != bytes([pad]) * pad:
        raise MediaError("the image did not decrypt with this bot's EncodingAESKey (bad padding)", retryable=False)
    return plain[:-pad]


def wecom_bot_encrypt(plain: bytes, encoding_aes_key: str) -> bytes:
    """The inverse of :func:`wecom_bot_decrypt` (for test doubles of the platform)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = wecom_bot_key(encoding_aes_key)
    pad = 32 - len(plain) % 32
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()


def wecom_bot_fetcher(client: httpx.AsyncClient, encoding_aes_key: str) -> Fetch:
    """Bytes of an AI-bot image URL, decrypted."""

    async def fetch(url: str, max_bytes: int) -> bytes:
        body, _ = await download(client, url, max_bytes + 64, label="the AI bot's image URL")  # padding adds a little
        return wecom_bot_decrypt(body, encoding_aes_key)

    return fetch


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
    import json

    try:
        return int(json.loads(body).get("errcode") or 0)
    except (ValueError, AttributeError, TypeError):
        return -1
