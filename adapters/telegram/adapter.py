"""Telegram through the Bot API (aiogram 3): updates in, replies out.

:func:`parse_update` turns one Bot API ``Update`` (as Telegram documents it, a JSON object)
into a :class:`core.message.Message`, or ``None`` for updates linli does not use.
:class:`TelegramAdapter` sends replies with aiogram's ``Bot`` (pointed at any Bot API server),
and receives updates by long polling when there is no public URL for a webhook.

Chat keys are ``telegram:<chat id>`` (groups are negative, supergroups ``-100…``); people are
``telegram:<user id>``. Parsing reads only the fields it needs, so new Bot API fields never
break it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from aiogram.utils.token import TokenValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.base import ChannelAdapter, Delivered, DeliveryError, MalformedPayload, PayloadTooLarge
from adapters.media import Fetch
from adapters.telegram import CHANNEL, PLATFORM
from adapters.telegram.media import telegram_fetcher
from core.message import Attachment, AttachmentKind, Message, MessageKind, MessageTooLong, OutgoingReply

log = logging.getLogger("linli.telegram")

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
MAX_SEND_CHARS = 4096  # Bot API limit for sendMessage / editMessageText
MAX_ALERT_CHARS = 200  # Bot API limit for answerCallbackQuery text
_MEMBER = {"member", "administrator", "creator", "restricted"}
_GONE = {"left", "kicked"}


# -- the parts of a Bot API Update that linli reads ---------------------------------------


class _Obj(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _User(_Obj):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or (self.username or "")


class _Chat(_Obj):
    id: int
    type: str
    title: str | None = None


class _Entity(_Obj):
    type: str
    offset: int
    length: int
    user: _User | None = None


class _FileRef(_Obj):
    file_id: str
    file_name: str | None = None
    emoji: str | None = None


class _Location(_Obj):
    latitude: float
    longitude: float


class _Venue(_Obj):
    location: _Location
    title: str = ""
    address: str = ""


class _Message(_Obj):
    message_id: int
    date: datetime
    chat: _Chat
    from_user: _User | None = Field(None, alias="from")
    sender_chat: _Chat | None = None
    message_thread_id: int | None = None
    is_topic_message: bool | None = None
    reply_to_message: _Message | None = None
    edit_date: datetime | None = None
    text: str | None = None
    caption: str | None = None
    entities: list[_Entity] | None = None
    caption_entities: list[_Entity] | None = None
    photo: list[_FileRef] | None = None
    voice: _FileRef | None = None
    video: _FileRef | None = None
    document: _FileRef | None = None
    sticker: _FileRef | None = None
    location: _Location | None = None
    venue: _Venue | None = None
    new_chat_members: list[_User] | None = None
    left_chat_member: _User | None = None
    migrate_to_chat_id: int | None = None
    migrate_from_chat_id: int | None = None


class _CallbackQuery(_Obj):
    id: str
    from_user: _User = Field(alias="from")
    message: _Message | None = None  # absent for buttons under inline-mode messages
    data: str | None = None


class _MemberState(_Obj):
    status: str
    user: _User


class _ChatMemberUpdated(_Obj):
    chat: _Chat
    from_user: _User = Field(alias="from")
    date: datetime
    old_chat_member: _MemberState
    new_chat_member: _MemberState


class _Update(_Obj):
    update_id: int
    message: _Message | None = None
    edited_message: _Message | None = None
    callback_query: _CallbackQuery | None = None
    my_chat_member: _ChatMemberUpdated | None = None


# -- parsing -------------------------------------------------------------------------------


def bot_id_of(token: str) -> int | None:
    """The bot's own user id: the number before the colon of its token."""
    head = token.partition(":")[0]
    return int(head) if head.isdecimal() else None


def parse_update(payload: Any, *, bot_id: int | None = None) -> Message | None:
    """One Bot API Update as a Message; None for kinds linli ignores (channel posts, polls …).

    Raises MalformedPayload (400) for a body that is not an Update, PayloadTooLarge (413)
    for text over linli's length limit.
    """
    if not isinstance(payload, dict):
        raise MalformedPayload("body must be a JSON object (a Telegram Update)")
    try:
        update = _Update.model_validate(payload)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise MalformedPayload(f"not a Telegram Update: {details}") from exc
    try:
        if update.message is not None:
            return _from_message(update.message, payload, MessageKind.MESSAGE, bot_id)
        if update.edited_message is not None:
            return _from_message(update.edited_message, payload, MessageKind.EDIT, bot_id)
        if update.callback_query is not None:
            return _from_callback(update.callback_query, payload)
        if update.my_chat_member is not None:
            return _from_member_update(update.my_chat_member, update.update_id, payload)
    except ValidationError as exc:
        too_long = [e for e in exc.errors() if isinstance(e.get("ctx", {}).get("error"), MessageTooLong)]
        if too_long:
            raise PayloadTooLarge(str(too_long[0]["ctx"]["error"])) from exc
        raise MalformedPayload("; ".join(e["msg"] for e in exc.errors()[:5])) from exc
    return None


def _thread_of(m: _Message) -> str | None:
    # Only forum topics are threads a reply must stay in; reply chains in ordinary
    # supergroups also carry message_thread_id, and sending into those fails.
    return str(m.message_thread_id) if m.is_topic_message and m.message_thread_id else None


def _sender(m: _Message) -> tuple[str, str]:
    if m.sender_chat is not None:  # anonymous admins and linked channels speak as a chat
        return str(m.sender_chat.id), m.sender_chat.title or ""
    if m.from_user is not None:
        return str(m.from_user.id), m.from_user.name
    return str(m.chat.id), m.chat.title or ""


def _utf16_slice(text: str, offset: int, length: int) -> str:
    # Entity offsets count UTF-16 code units (emoji and rare CJK take two).
    data = text.encode("utf-16-le")
    return data[offset * 2:(offset + length) * 2].decode("utf-16-le", errors="ignore")


def _mentions(text: str, entities: list[_Entity]) -> list[str]:
    found = []
    for e in entities:
        if e.type == "mention":
            found.append(_utf16_slice(text, e.offset, e.length))
        elif e.type == "text_mention" and e.user is not None:
            found.append(str(e.user.id))
    return found


def _attachments(m: _Message) -> list[Attachment]:
    parts: list[Attachment] = []
    if m.photo:
        parts.append(Attachment(kind=AttachmentKind.IMAGE, ref=m.photo[-1].file_id))  # the largest size is last
    if m.venue is not None:
        parts.append(Attachment(kind=AttachmentKind.LOCATION, label=" ".join(p for p in (m.venue.title, m.venue.address) if p),
                                latitude=m.venue.location.latitude, longitude=m.venue.location.longitude))
    elif m.location is not None:
        parts.append(Attachment(kind=AttachmentKind.LOCATION, latitude=m.location.latitude, longitude=m.location.longitude))
    for kind, ref in ((AttachmentKind.VOICE, m.voice), (AttachmentKind.VIDEO, m.video),
                      (AttachmentKind.FILE, m.document), (AttachmentKind.STICKER, m.sticker)):
        if ref is not None:
            parts.append(Attachment(kind=kind, ref=ref.file_id, label=ref.file_name or ref.emoji))
    return parts


def _event_of(m: _Message, bot_id: int | None) -> tuple[str, dict] | None:
    """Service messages that matter: migration to a supergroup, the bot joining or leaving."""
    if m.migrate_to_chat_id is not None:
        return "chat_migrated", {"from_chat_id": str(m.chat.id), "to_chat_id": str(m.migrate_to_chat_id)}
    if m.migrate_from_chat_id is not None:
        return "chat_migrated", {"from_chat_id": str(m.migrate_from_chat_id), "to_chat_id": str(m.chat.id)}
    if m.new_chat_members:
        ids = [u.id for u in m.new_chat_members]
        return ("bot_added" if bot_id in ids else "members_joined"), {"user_ids": [str(i) for i in ids]}
    if m.left_chat_member is not None:
        left = m.left_chat_member.id
        return ("bot_removed" if left == bot_id else "member_left"), {"user_ids": [str(left)]}
    return None


def _from_message(m: _Message, raw: dict, kind: MessageKind, bot_id: int | None) -> Message:
    sender_id, sender_name = _sender(m)
    thread_id = _thread_of(m)
    common = dict(
        platform=PLATFORM, chat_id=str(m.chat.id), message_id=str(m.message_id), sender_id=sender_id,
        sender_name=sender_name, is_group=m.chat.type != "private", thread_id=thread_id, raw=raw,
    )
    event = _event_of(m, bot_id)
    if event is not None:
        return Message(**common, kind=MessageKind.EVENT, event=event[0], event_data=event[1], sent_at=m.date)
    reply_to = m.reply_to_message
    # In a forum topic every message "replies" to the topic's opening service message.
    if reply_to is not None and thread_id is not None and str(reply_to.message_id) == thread_id:
        reply_to = None
    text = m.text if m.text is not None else (m.caption or "")
    entities = (m.entities if m.text is not None else m.caption_entities) or []
    addressed = m.chat.type == "private" or (
        bot_id is not None and reply_to is not None and reply_to.from_user is not None and reply_to.from_user.id == bot_id
    )
    return Message(
        **common, kind=kind, text=text, mentions=_mentions(text, entities), addressed_to_bot=addressed,
        reply_to_message_id=str(reply_to.message_id) if reply_to is not None else None,
        attachments=_attachments(m), sent_at=(m.edit_date or m.date) if kind is MessageKind.EDIT else m.date,
    )


def _from_callback(cb: _CallbackQuery, raw: dict) -> Message | None:
    if cb.message is None or cb.data is None:
        return None  # inline-mode or game buttons: linli never sends those
    card = cb.message
    return Message(
        platform=PLATFORM, chat_id=str(card.chat.id), message_id=cb.id, sender_id=str(cb.from_user.id),
        sender_name=cb.from_user.name, is_group=card.chat.type != "private", kind=MessageKind.ACTION,
        action_data=cb.data, reply_to_message_id=str(card.message_id), thread_id=_thread_of(card),
        sent_at=datetime.now(UTC), raw=raw,
    )


def _from_member_update(change: _ChatMemberUpdated, update_id: int, raw: dict) -> Message:
    old, new = change.old_chat_member.status, change.new_chat_member.status
    if new in _GONE:
        event = "bot_removed"
    elif old in _GONE and new in _MEMBER:
        event = "bot_added"
    else:
        event = "bot_status_changed"  # e.g. promoted to admin, which lets it read every message
    return Message(
        platform=PLATFORM, chat_id=str(change.chat.id), message_id=f"u{update_id}", sender_id=str(change.from_user.id),
        sender_name=change.from_user.name, is_group=change.chat.type != "private", kind=MessageKind.EVENT,
        event=event, event_data={"old_status": old, "new_status": new, "title": change.chat.title or ""},
        sent_at=change.date, raw=raw,
    )


# -- sending -------------------------------------------------------------------------------


def _chat_id(value: str) -> int | str:
    return int(value) if value.lstrip("-").isdecimal() else value


def _keyboard(reply: OutgoingReply) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=b.label, callback_data=b.data) for b in row] for row in reply.buttons
    ])


def delivery_error(exc: Exception) -> DeliveryError:
    """How the outbox should treat a failed Bot API call: wait and retry, or give up."""
    if isinstance(exc, TelegramRetryAfter):
        return DeliveryError(f"Telegram flood control: retry after {exc.retry_after}s", retryable=True,
                             retry_after=float(exc.retry_after))
    if isinstance(exc, TelegramNetworkError | TelegramServerError | ClientDecodeError):
        return DeliveryError(f"Telegram unreachable or failing: {exc}", retryable=True)
    if isinstance(exc, TelegramAPIError):  # 4xx: chat not found, bot kicked, bad token …
        return DeliveryError(f"Telegram refused the message: {exc.message}", retryable=False)
    return DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True)


class TelegramAdapter(ChannelAdapter):
    """Sends replies through the Bot API; in polling mode also fetches updates.

    ``on_update`` receives each polled Update as a dict (the same body a webhook gets).
    """

    platform = PLATFORM
    rate_limit = CHANNEL.capabilities.rate_limit
    direct_messages = CHANNEL.capabilities.one_to_one

    def __init__(
        self, token: str, *, api_base: str | None = None, request_timeout: float = 15.0,
        on_update: Callable[[dict], Awaitable[None]] | None = None, poll_timeout: int = 25,
        on_start: Callable[[TelegramAdapter], Awaitable[None]] | None = None,
    ):
        server = TelegramAPIServer.from_base(api_base) if api_base else PRODUCTION
        try:
            self.bot = Bot(token, session=AiohttpSession(api=server, timeout=request_timeout))
        except TokenValidationError as exc:
            raise ValueError("LINLI_TELEGRAM_TOKEN is not a bot token: BotFather gives one like 123456789:AAE…") from exc
        self.bot_id = self.bot.id
        self.api_base = api_base
        self.on_update = on_update
        self.on_start = on_start
        self.poll_timeout = poll_timeout
        self._poller: asyncio.Task | None = None

    # -- outbound --------------------------------------------------------------------------

    async def deliver(self, reply: OutgoingReply) -> Delivered:
        try:
            return await self._deliver(reply, _chat_id(reply.chat_id))
        except TelegramMigrateToChat as exc:  # the group became a supergroup: same message, new id
            try:
                return await self._deliver(reply, exc.migrate_to_chat_id)
            except Exception as again:
                raise delivery_error(again) from again
        except DeliveryError:
            raise
        except Exception as exc:
            raise delivery_error(exc) from exc

    async def _deliver(self, reply: OutgoingReply, chat_id: int | str) -> Delivered:
        if reply.alert_for_action:
            await self.answer_action(reply.alert_for_action, reply.text, alert=True)
            return Delivered()
        text = reply.text[:MAX_SEND_CHARS]
        if reply.edit_message_id:
            try:
                await self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=int(reply.edit_message_id),
                                                 reply_markup=_keyboard(reply))
            except TelegramBadRequest as exc:
                if "message is not modified" not in exc.message:
                    raise
            return Delivered(platform_message_id=reply.edit_message_id)
        sent = await self.bot.send_message(
            chat_id=chat_id, text=text,
            message_thread_id=int(reply.thread_id) if reply.thread_id else None,
            reply_parameters=ReplyParameters(message_id=int(reply.reply_to_message_id), allow_sending_without_reply=True)
            if reply.reply_to_message_id else None,
            reply_markup=_keyboard(reply) if reply.buttons else None,
        )
        return Delivered(platform_message_id=str(sent.message_id))

    def media_fetcher(self, client: httpx.AsyncClient) -> Fetch:
        """Photos and image documents by ``file_id`` (``getFile`` on the same Bot API server)."""
        return telegram_fetcher(client, self.bot.token, self.api_base)

    async def answer_action(self, callback_id: str, text: str | None = None, *, alert: bool = False) -> None:
        """Answer a button press (stops the spinner); with ``alert``, the presser sees a dialog."""
        await self.bot.answer_callback_query(callback_query_id=callback_id,
                                             text=text[:MAX_ALERT_CHARS] if text else None, show_alert=alert or None)

    # -- inbound set-up ----------------------------------------------------------------------

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    async def start(self) -> None:
        if self.on_start is not None:
            await self.on_start(self)

    def start_polling(self) -> None:
        """Fetch updates with getUpdates in a background task until :meth:`stop`."""
        if self.on_update is None:
            raise RuntimeError("polling needs on_update to hand each update to")
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll(), name="linli-telegram-polling")

    async def _poll(self) -> None:
        on_update = self.on_update
        assert on_update is not None, "start_polling checks on_update"
        # getUpdates refuses to work while a webhook is set.
        await self._retrying(lambda: self.bot.delete_webhook(drop_pending_updates=False))
        offset: int | None = None
        while True:
            updates = await self._retrying(lambda: self.bot.get_updates(
                offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES,  # noqa: B023 - awaited this round
                request_timeout=self.poll_timeout + 10,
            ))
            for update in updates:
                body = update.model_dump(mode="json", by_alias=True, exclude_none=True)
                try:
                    await on_update(body)
                except (MalformedPayload, PayloadTooLarge) as exc:
                    log.warning("skipping Telegram update %s: %s", update.update_id, exc)
                except Exception:
                    # Not confirmed: the same update comes back with the next getUpdates.
                    log.exception("could not take Telegram update %s; will fetch it again", update.update_id)
                    await asyncio.sleep(2)
                    break
                offset = update.update_id + 1

    async def _retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        delay = 1.0
        while True:
            try:
                return await call()
            except asyncio.CancelledError:
                raise
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
            except Exception as exc:
                log.warning("Telegram polling call failed (%s); retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None
        await self.bot.session.close()
