"""WeCom AI bot (企业微信智能机器人): hears @-mentions in group chats (and 1:1 messages).

The platform POSTs ``{"encrypt": …}`` (AES, receive id ``""``) with ``msg_signature``,
``timestamp`` and ``nonce`` in the query. The plaintext is JSON:
``msgid, aibotid, chatid, chattype (group|single), from.userid, response_url, msgtype`` and one of
``text.content``, ``mixed.msg_item[]``, ``voice.content`` (the transcript), ``image.url``,
``quote``, ``stream.id`` (a refresh of our own stream) or ``event`` (e.g. a template card click).
We answer in the same HTTP response with encrypted JSON ``{encrypt, msgsignature, timestamp,
nonce}`` holding a finished stream message (or a template card with buttons). Later messages
go to a ``response_url`` (valid one hour, usable once) remembered per chat.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.base import ChannelAdapter, Delivered, DeliveryError, MalformedPayload
from adapters.media import Fetch
from adapters.wecom_bot import CHANNEL, PLATFORM
from adapters.wecom_bot.media import wecom_bot_fetcher
from adapters.wx_common import (
    Envelope,
    build_message,
    call_json,
    check_fresh,
    check_size,
    edit_skipped,
    http_client,
    now_seconds,
    raise_for_errcode,
)
from core import json_input
from core.message import Attachment, AttachmentKind, Button, Message, MessageKind, OutgoingReply

RESPONSE_URL_TTL = timedelta(minutes=55)  # the platform says one hour; keep a margin
STREAM_MAX_BYTES = 20480
_LEADING_MENTION = re.compile(r"^\s*@\S+\s*")


# -- the callback format ------------------------------------------------------------------


class _Text(BaseModel):
    content: str = ""


class _Image(BaseModel):
    url: str | None = None


class _Item(BaseModel):
    msgtype: str
    text: _Text | None = None
    image: _Image | None = None


class _Mixed(BaseModel):
    msg_item: list[_Item] = Field(default_factory=list, max_length=50)


class _From(BaseModel):
    userid: str = Field(min_length=1, max_length=128)


class _Quote(BaseModel):
    model_config = ConfigDict(extra="allow")
    msgtype: str = ""
    text: _Text | None = None


class _CardEvent(BaseModel):
    model_config = ConfigDict(extra="allow")
    event_key: str = ""
    task_id: str = ""


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")
    eventtype: str = ""
    template_card_event: _CardEvent | None = None


class AiBotCallback(BaseModel):
    """One decrypted AI-bot callback (unknown fields are kept in ``raw`` but not modelled)."""

    model_config = ConfigDict(extra="ignore")

    msgid: str = Field(min_length=1, max_length=128)
    create_time: int | None = None
    aibotid: str = ""
    chatid: str | None = Field(None, max_length=128)
    chattype: Literal["group", "single"] = "single"
    sender: _From = Field(alias="from")
    response_url: str | None = None
    msgtype: str
    text: _Text | None = None
    mixed: _Mixed | None = None
    voice: _Text | None = None
    image: _Image | None = None
    quote: _Quote | None = None
    event: _Event | None = None

    @property
    def chat_id(self) -> str:
        """The group's chatid, or the user for 1:1 chats (which have no chatid)."""
        return self.chatid if self.chattype == "group" and self.chatid else self.sender.userid


def parse_callback(plaintext: str) -> AiBotCallback:
    """Parse decrypted callback JSON; MalformedPayload names what is wrong."""
    try:
        data = json_input.loads(plaintext)
    except ValueError as exc:
        raise MalformedPayload("decrypted callback is not JSON") from exc
    if not isinstance(data, dict):
        raise MalformedPayload("decrypted callback must be a JSON object")
    try:
        callback = AiBotCallback.model_validate(data)
    except ValidationError as exc:
        raise MalformedPayload("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc
    if callback.chattype == "group" and not callback.chatid:
        raise MalformedPayload("chatid: a group callback needs one")
    return callback


def to_message(callback: AiBotCallback, raw: dict[str, Any]) -> Message | None:
    """The normalised message: text, mixed and voice become what the person said; a card click an action."""
    group = callback.chattype == "group"
    base = dict(platform=PLATFORM, chat_id=callback.chat_id, message_id=callback.msgid,
                sender_id=callback.sender.userid, is_group=group, addressed_to_bot=True,
                sent_at=_sent_at(callback.create_time), raw=raw)
    if callback.msgtype == "event":
        card = callback.event.template_card_event if callback.event else None
        if card is None or not card.event_key:
            return None  # enter_chat, feedback…: acknowledged, not stored
        return build_message(**base, kind=MessageKind.ACTION, action_data=card.event_key[:64])
    text, attachments, transcript = "", [], None
    if callback.msgtype == "text" and callback.text:
        text = callback.text.content
    elif callback.msgtype == "mixed" and callback.mixed:
        text = "\n".join(i.text.content for i in callback.mixed.msg_item if i.msgtype == "text" and i.text)
        attachments = [Attachment(kind=AttachmentKind.IMAGE, ref=i.image.url)
                       for i in callback.mixed.msg_item if i.msgtype == "image" and i.image]
    elif callback.msgtype == "voice" and callback.voice:
        transcript = callback.voice.content
    elif callback.msgtype == "image" and callback.image:
        attachments = [Attachment(kind=AttachmentKind.IMAGE, ref=callback.image.url)]
    else:
        return None  # stream refreshes, files…
    if group:  # the @-mention of the bot itself is not part of what was said
        text = _LEADING_MENTION.sub("", text, count=1)
    if callback.quote and callback.quote.text:
        raw = {**raw, "quoted_text": callback.quote.text.content}
        base["raw"] = raw
    return build_message(**base, text=text, voice_transcript=transcript, attachments=attachments)


def _sent_at(create_time: int | None) -> datetime:
    try:
        return datetime.fromtimestamp(create_time, UTC) if create_time else datetime.now(UTC)
    except (ValueError, OverflowError, OSError):
        return datetime.now(UTC)


# -- replies ------------------------------------------------------------------------------


def stream_reply(text: str) -> dict[str, Any]:
    """A finished stream message: the whole answer at once."""
    content = text.encode("utf-8")[:STREAM_MAX_BYTES].decode("utf-8", errors="ignore")
    return {"msgtype": "stream", "stream": {"id": secrets.token_hex(8), "finish": True, "content": content}}


def card_reply(text: str, buttons: list[list[Button]], *, title: str = "邻里助手") -> dict[str, Any]:
    """A button-interaction template card: the text, and one button per action (key = action data)."""
    flat_buttons = [b for row in buttons for b in row][:6]
    return {"msgtype": "template_card", "template_card": {
        "card_type": "button_interaction",
        "main_title": {"title": title},
        "sub_title_text": text[:1000],
        "task_id": f"linli-{secrets.token_hex(8)}",
        "button_list": [{"text": b.label[:10], "style": 1 if i == 0 else 2, "key": b.data} for i, b in enumerate(flat_buttons)],
    }}


def reply_payload(text: str, buttons: list[list[Button]]) -> dict[str, Any]:
    return card_reply(text, buttons) if buttons else stream_reply(text)


class WeComBotCallbacks:
    """Verification, decryption and parsing of AI-bot callbacks, and sealing of replies. Synchronous."""

    def __init__(self, token: str, aes_key: str, *, clock: Callable[[], float] = now_seconds):
        self.clock = clock
        self.envelope = Envelope(token, aes_key, "")  # the AI bot's receive id is the empty string

    def verify_url(self, query: Mapping[str, str]) -> str:
        return self.envelope.verify_url(query, self.clock())

    def parse(self, query: Mapping[str, str], body: bytes) -> tuple[AiBotCallback, Message | None]:
        check_size(body)
        check_fresh(query.get("timestamp"), self.clock())
        try:
            outer = json_input.loads(body)
        except ValueError as exc:
            raise MalformedPayload("body is not JSON") from exc
        encrypted = outer.get("encrypt") if isinstance(outer, dict) else None
        if not isinstance(encrypted, str) or not encrypted:
            raise MalformedPayload('body must be {"encrypt": "…"}')
        plaintext = self.envelope.open(query.get("msg_signature"), query.get("timestamp", ""), query.get("nonce", ""), encrypted)
        callback = parse_callback(plaintext)
        raw = {"msgtype": callback.msgtype, "chattype": callback.chattype, "aibotid": callback.aibotid}
        return callback, to_message(callback, raw)

    def seal(self, payload: dict[str, Any], nonce: str, timestamp: str | None = None) -> dict[str, Any]:
        """The encrypted JSON answer: ``{encrypt, msgsignature, timestamp, nonce}``."""
        timestamp = timestamp or str(int(self.clock()))
        encrypted, sig = self.envelope.seal(json.dumps(payload, ensure_ascii=False), timestamp, nonce)
        return {"encrypt": encrypted, "msgsignature": sig, "timestamp": timestamp, "nonce": nonce}


# -- later replies through response_url ------------------------------------------------------


class ReplyUrls(Protocol):
    """Where response_urls wait for a later reply (the shared database). Synchronous."""

    def remember(self, key: str, value: str, ttl: timedelta) -> None: ...
    def take(self, key: str) -> str | None: ...
    def take_newest(self, prefix: str) -> str | None: ...


def reply_url_key(chat_id: str, message_id: str = "") -> str:
    return f"{PLATFORM}:reply:{chat_id}:{message_id}"


def images_of(client: httpx.AsyncClient, aes_key: str | None) -> Fetch | None:
    """The AI bot's image URLs, decrypted with its EncodingAESKey (none without the key)."""
    return wecom_bot_fetcher(client, aes_key) if aes_key else None


class WeComBotAdapter(ChannelAdapter):
    """Posts later replies to a chat through an unused response_url of that chat.

    It prefers the response_url of the message being answered, else the newest one of the
    chat. With none left (nobody @-mentioned the bot there for an hour) delivery fails with a
    reason that says so; a group robot webhook is the way to reach such groups.
    """

    platform = PLATFORM
    rate_limit = CHANNEL.capabilities.rate_limit
    direct_messages = CHANNEL.capabilities.one_to_one

    def __init__(self, urls: ReplyUrls, *, aes_key: str | None = None):
        self.urls = urls
        self.aes_key = aes_key
        self.client = http_client()

    def media_fetcher(self, client: httpx.AsyncClient) -> Fetch | None:
        return images_of(client, self.aes_key)

    async def _take_url(self, reply: OutgoingReply) -> str | None:
        if reply.reply_to_message_id:
            url = await asyncio.to_thread(self.urls.take, reply_url_key(reply.chat_id, reply.reply_to_message_id))
            if url:
                return url
        return await asyncio.to_thread(self.urls.take_newest, reply_url_key(reply.chat_id))

    async def deliver(self, reply: OutgoingReply) -> Delivered:
        if skipped := edit_skipped(reply):
            return skipped
        url = await self._take_url(reply)
        if url is None:
            raise DeliveryError(
                f"no unused response_url for WeCom AI-bot chat {reply.chat_id} from the last hour; "
                "it can answer only after someone @-mentions it there (or add a group robot webhook)",
                retryable=False,
            )
        if reply.buttons:
            payload = card_reply(reply.text, reply.buttons)
        else:
            payload = {"msgtype": "markdown", "markdown": {"content": reply.text}}
        data = await call_json(self.client, "POST", url, json=payload)
        raise_for_errcode(data, "WeCom AI-bot response_url")
        return Delivered()

    async def stop(self) -> None:
        await self.client.aclose()
