"""What the WeChat and WeCom adapters share: signatures, AES envelopes, safe XML, fresh
timestamps, access tokens and the errcode → :class:`DeliveryError` mapping.

wechatpy supplies the primitives (``WeChatSigner``, ``check_signature``, ``PrpCrypto``); this
module wraps them so every entry point refuses bad input the same way: a wrong signature is
:class:`SignatureError` (403), a stale timestamp too, and anything unparsable, oversized or
carrying a DOCTYPE/ENTITY declaration is :class:`MalformedPayload` / :class:`PayloadTooLarge`.
All functions here are synchronous and CPU-only; callers run them off the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from xml.parsers.expat import ExpatError

import httpx
import xmltodict
from pydantic import ValidationError
from wechatpy.crypto import PrpCrypto
from wechatpy.utils import WeChatSigner

from adapters.base import Delivered, DeliveryError, MalformedPayload, PayloadTooLarge, RecipientUnreachable, SignatureError
from core.message import Attachment, AttachmentKind, Button, Message, MessageTooLong

log = logging.getLogger("linli.wechat")

MAX_CALLBACK_BYTES = 64 * 1024
"""Platform callbacks are a few KB; anything larger is refused before parsing (413)."""

FRESHNESS_SECONDS = 300
"""A callback's timestamp may be this far from our clock; older (or future) ones are replays."""

_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_FOREIGN_ENCODING = re.compile(r"<\?xml[^>]*encoding\s*=\s*[\"'](?!utf-?8[\"'])", re.IGNORECASE)


# -- inbound checks ----------------------------------------------------------------------


def check_size(body: bytes, limit: int = MAX_CALLBACK_BYTES) -> None:
    if len(body) > limit:
        raise PayloadTooLarge(f"callback body is {len(body)} bytes; the limit is {limit}")


def check_fresh(timestamp: str | None, now: float, window: int = FRESHNESS_SECONDS) -> int:
    """The callback's timestamp as an int, or SignatureError when missing, malformed or stale."""
    try:
        ts = int(timestamp or "")
    except ValueError as exc:
        raise SignatureError("timestamp is missing or not a number") from exc
    if abs(now - ts) > window:
        raise SignatureError(f"timestamp {ts} is more than {window}s away from now: refused as a replay")
    return ts


class NonceStore(Protocol):
    """Where the nonces of recent callbacks are remembered for every instance (database or Redis). Synchronous."""

    def claim(self, key: str, digest: str, ttl: timedelta) -> str | None:
        """None when ``key`` is new (it is now remembered with ``digest``); else the digest it came with first."""
        ...


MAX_NONCE_CHARS = 128
NONCE_TTL = timedelta(seconds=2 * FRESHNESS_SECONDS + 60)
"""A timestamp passes :func:`check_fresh` from ``window`` before it to ``window`` after it, and
instances' clocks differ a little: remembering a nonce this long outlives every chance to replay it."""


def check_replay(store: NonceStore, channel: str, query: Mapping[str, str], body: bytes) -> bool:
    """Refuse a verified callback whose (timestamp, nonce) was already used with another body.

    Call it only after the signature and freshness checks passed, so that nobody can use up a
    nonce the platform is about to send. Returns True when this exact callback (same nonce, same
    body) was seen before, False when it is new.

    WeChat and WeCom retry an unanswered callback (three tries within about 15 s), and a retry
    may carry the same nonce as the first try. Refusing it would make WeChat show the resident
    "该公众号暂时无法提供服务", so a byte-identical repeat goes on to the normal path, where the
    message id makes it a duplicate: nothing is processed twice and the first answer is repeated.
    A repeat is harmless for the same reason, whoever sends it. What is refused is the
    same (timestamp, nonce) with another body: a captured signed query string reused with a
    forged body (a plaintext ``signature`` does not cover the body).
    """
    nonce = query.get("nonce") or ""
    if len(nonce) > MAX_NONCE_CHARS:
        raise MalformedPayload(f"nonce is longer than {MAX_NONCE_CHARS} characters")
    digest = hashlib.sha256(body).hexdigest()
    first = store.claim(f"{channel}:{query.get('timestamp') or ''}:{nonce}", digest, NONCE_TTL)
    if first is not None and first != digest:
        raise SignatureError("this timestamp and nonce were already used with another body: refused as a replay")
    return first is not None


def signature(*parts: str) -> str:
    """WeChat's SHA-1 over the sorted parts (token, timestamp, nonce[, encrypted])."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def check_signature(expected: str | None, *parts: str) -> None:
    if not expected or not hmac.compare_digest(signature(*parts), expected.strip().lower()):
        raise SignatureError("signature does not match: check the token configured on the platform")


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """The children of an ``<xml>`` document as a dict, refusing DOCTYPE/ENTITY and non-UTF-8 input."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedPayload("XML body is not UTF-8") from exc
    else:
        text = body
    if not text.strip():
        raise MalformedPayload("empty XML body")
    if _DECLARATION.search(text):
        raise MalformedPayload("XML with DOCTYPE or ENTITY declarations is refused")
    if _FOREIGN_ENCODING.search(text[:200]):
        raise MalformedPayload("XML must be UTF-8")
    try:
        doc = xmltodict.parse(text, disable_entities=True)
    except (ExpatError, ValueError) as exc:
        raise MalformedPayload(f"XML body cannot be parsed: {exc}") from exc
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise MalformedPayload("expected an <xml> root element with children")
    return root


def field(doc: dict[str, Any], name: str, *, required: bool = False) -> str:
    """A text child of a parsed document ('' when absent); MalformedPayload if required and empty."""
    value = doc.get(name)
    if isinstance(value, dict):  # <Tag attr="..">text</Tag>
        value = value.get("#text")
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise MalformedPayload(f"<{name}> is missing")
    return text


def flat(doc: dict[str, Any]) -> dict[str, str]:
    """The text children only (what Message.raw keeps)."""
    return {k: v for k, v in doc.items() if isinstance(v, str)}


def sent_at_of(create_time: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(create_time), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise MalformedPayload("CreateTime is not a timestamp") from exc


def xml_content(kind: str, doc: dict[str, Any]) -> dict[str, Any] | None:
    """Message fields for the XML message types both WeChat and WeCom send; None for others."""
    if kind == "text":
        return {"text": field(doc, "Content")}
    if kind == "voice":  # Recognition: WeChat's transcript, when speech recognition is on
        return {"voice_transcript": field(doc, "Recognition") or None,
                "attachments": [Attachment(kind=AttachmentKind.VOICE, ref=field(doc, "MediaId") or None)]}
    if kind == "image":
        ref = field(doc, "PicUrl") or field(doc, "MediaId") or None
        return {"attachments": [Attachment(kind=AttachmentKind.IMAGE, ref=ref)]}
    if kind == "location":
        try:
            lat, lng = float(field(doc, "Location_X")), float(field(doc, "Location_Y"))
        except ValueError as exc:
            raise MalformedPayload("location without Location_X/Location_Y") from exc
        return {"attachments": [Attachment(kind=AttachmentKind.LOCATION, label=field(doc, "Label") or None,
                                           latitude=lat, longitude=lng)]}
    return None


def build_message(**values: Any) -> Message:
    """A Message, or MalformedPayload (400) saying which field the platform got wrong."""
    try:
        return Message(**values)
    except MessageTooLong as exc:
        raise MalformedPayload(str(exc)) from exc
    except ValidationError as exc:
        raise MalformedPayload("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc


def cdata(text: str) -> str:
    """Wrap text in CDATA, splitting any ``]]>`` so it cannot close the section early."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


# -- AES envelopes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """The platform's AES scheme (EncodingAESKey, receive id = app id / corp id / '' for the AI bot)."""

    token: str
    aes_key: str
    receive_id: str

    def __post_init__(self) -> None:
        try:
            key = base64.b64decode(self.aes_key + "=", validate=True)
        except ValueError as exc:
            raise ValueError("EncodingAESKey must be the 43 characters shown on the platform") from exc
        if len(key) != 32:
            raise ValueError("EncodingAESKey must be the 43 characters shown on the platform")

    @property
    def _crypto(self) -> PrpCrypto:
        return PrpCrypto(base64.b64decode(self.aes_key + "="))

    def open(self, msg_signature: str | None, timestamp: str, nonce: str, encrypted: str) -> str:
        """Verify ``msg_signature`` over the ciphertext, then decrypt it."""
        check_signature(msg_signature, self.token, timestamp, nonce, encrypted)
        try:
            return self._crypto.decrypt(encrypted, self.receive_id)
        except Exception as exc:  # padding, base64, length or receive-id mismatch
            raise MalformedPayload("encrypted payload cannot be decrypted with the configured EncodingAESKey") from exc

    def verify_url(self, query: Mapping[str, str], now: float) -> str:
        """URL verification (WeCom app, AI bot): the decrypted ``echostr`` after signature and freshness checks."""
        check_fresh(query.get("timestamp"), now)
        echostr = query.get("echostr", "")
        if not echostr:
            raise MalformedPayload("echostr is missing")
        return self.open(query.get("msg_signature"), query.get("timestamp", ""), query.get("nonce", ""), echostr)

    def seal(self, plaintext: str, timestamp: str, nonce: str) -> tuple[str, str]:
        """Encrypt a reply; returns (ciphertext, msg_signature)."""
        encrypted = self._crypto.encrypt(plaintext, self.receive_id).decode()
        return encrypted, signature(self.token, timestamp, nonce, encrypted)

    def seal_xml(self, plaintext: str, timestamp: str, nonce: str) -> str:
        """A passive reply in safe mode: the encrypted ``<xml>`` envelope."""
        encrypted, sig = self.seal(plaintext, timestamp, nonce)
        return (
            f"<xml><Encrypt>{cdata(encrypted)}</Encrypt><MsgSignature>{cdata(sig)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
        )


def new_nonce() -> str:
    return secrets.token_hex(8)


# -- outgoing text -----------------------------------------------------------------------


def edit_skipped(reply) -> Delivered | None:
    """WeChat and WeCom cannot edit a sent text: an edit (a moderator card showing the ticket's new
    state) is dropped as delivered, since the announcement of that change is sent as well."""
    if reply.edit_message_id:
        return Delivered(platform_message_id=reply.edit_message_id)
    return None


def button_hints(buttons: list[list[Button]]) -> str:
    """Text platforms without buttons: ``t:confirm:12`` labelled 确认 becomes 「确认 12」."""
    hints = []
    for row in buttons:
        for button in row:
            parts = button.data.split(":")
            number = parts[2] if len(parts) == 3 and parts[0] == "t" else ""
            hints.append(f"「{button.label} {number}」".replace(" 」", "」"))
    return ("回复 " + " 或 ".join(hints)) if hints else ""


def with_hints(text: str, buttons: list[list[Button]]) -> str:
    hints = button_hints(buttons)
    return f"{text}\n{hints}" if hints else text


# -- access tokens -----------------------------------------------------------------------


class TokenStore(Protocol):
    """Where access tokens live so every instance shares one (database or Redis). Synchronous."""

    def get(self, key: str) -> tuple[str, datetime] | None: ...
    def put(self, key: str, token: str, expires_at: datetime) -> None: ...
    def lease(self, key: str, seconds: float) -> bool: ...
    def drop(self, key: str, token: str) -> None: ...


TOKEN_ERRORS = frozenset({40001, 40014, 42001})
"""invalid credential, invalid token, token expired: refresh once and retry."""
RETRY_LATER = {-1: 5.0, 45009: 60.0, 45033: 10.0, 45047: 60.0}
"""system busy, call frequency/quota limits, concurrency limit, customer-service quota."""
OUT_OF_WINDOW = 45015


class AccessTokens:
    """An access token fetched once for all instances and refreshed before it expires.

    The store's lease makes one instance refresh while the others wait for its result, so a
    fleet never stampedes the token endpoint (each fetch invalidates the previous token).
    """

    MARGIN = timedelta(minutes=5)

    def __init__(self, key: str, fetch: Callable[[], Awaitable[tuple[str, int]]], store: TokenStore,
                 *, clock: Callable[[], datetime] = lambda: datetime.now(UTC), wait_seconds: float = 5.0):
        self.key, self.fetch, self.store, self.clock, self.wait_seconds = key, fetch, store, clock, wait_seconds

    async def _fresh(self) -> str | None:
        cached = await asyncio.to_thread(self.store.get, self.key)
        if cached and cached[1] - self.MARGIN > self.clock():
            return cached[0]
        return None

    async def get(self) -> str:
        token = await self._fresh()
        if token:
            return token
        if await asyncio.to_thread(self.store.lease, self.key, 15.0):
            token = await self._fresh()  # another instance may have stored one since we looked
            if token:
                return token
        else:
            deadline = time.monotonic() + self.wait_seconds
            while time.monotonic() < deadline:  # another instance is refreshing
                await asyncio.sleep(0.2)
                token = await self._fresh()
                if token:
                    return token
        token, expires_in = await self.fetch()
        await asyncio.to_thread(self.store.put, self.key, token, self.clock() + timedelta(seconds=expires_in))
        return token

    async def invalidate(self, token: str) -> None:
        await asyncio.to_thread(self.store.drop, self.key, token)


async def call_json(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """One platform API call; network trouble and 5xx are retryable DeliveryErrors."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{method} {_safe(url)} failed: {type(exc).__name__}: {exc}", retryable=True) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise DeliveryError(f"{_safe(url)} answered HTTP {response.status_code}", retryable=True)
    try:
        data = response.json()
    except ValueError as exc:
        raise DeliveryError(f"{_safe(url)} answered HTTP {response.status_code} without JSON", retryable=False) from exc
    if not isinstance(data, dict):
        raise DeliveryError(f"{_safe(url)} answered an unexpected JSON value", retryable=False)
    return data


def _safe(url: str) -> str:
    """The URL without its query (which may carry an access token or webhook key)."""
    return url.split("?", 1)[0]


def errcode(data: dict[str, Any]) -> int:
    try:
        return int(data.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1


def raise_for_errcode(data: dict[str, Any], what: str) -> None:
    """Map a non-zero errcode to the DeliveryError the outbox understands."""
    code = errcode(data)
    if code == 0:
        return
    reason = f"{what}: errcode {code} {data.get('errmsg', '')}".strip()
    if code == OUT_OF_WINDOW:
        raise RecipientUnreachable(reason + " (the person has not written in the last 48 hours)")
    if code in TOKEN_ERRORS:
        raise DeliveryError(reason, retryable=True, retry_after=5.0)
    if code in RETRY_LATER:
        raise DeliveryError(reason, retryable=True, retry_after=RETRY_LATER[code])
    raise DeliveryError(reason, retryable=False)


async def fetch_token(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> tuple[str, int]:
    """GET a token endpoint (``/cgi-bin/token`` or ``/cgi-bin/gettoken``) → (token, expires_in)."""
    data = await call_json(client, "GET", url, params=params)
    raise_for_errcode(data, "access token request")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise DeliveryError("access token response carries no access_token", retryable=True)
    return token, int(data.get("expires_in") or 7200)


async def post_with_token(client: httpx.AsyncClient, tokens: AccessTokens, url: str, payload: dict[str, Any], what: str) -> dict[str, Any]:
    """POST with ``?access_token=``; an expired or revoked token is refreshed and the call retried once."""
    for attempt in (1, 2):
        token = await tokens.get()
        data = await call_json(client, "POST", url, params={"access_token": token}, json=payload)
        if errcode(data) in TOKEN_ERRORS and attempt == 1:
            log.info("%s: access token rejected (errcode %s); refreshing", what, errcode(data))
            await tokens.invalidate(token)
            continue
        raise_for_errcode(data, what)
        return data
    raise AssertionError("unreachable")


def http_client(timeout: float = 10.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, headers={"User-Agent": "linli"})


def now_seconds() -> float:
    return time.time()
