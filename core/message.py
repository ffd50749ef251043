"""The normalised inbound message and outgoing reply every channel shares.

Adapters turn platform payloads into :class:`Message` and deliver :class:`OutgoingReply`;
the bot sees nothing else, so it never knows which platform it is talking to.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_TEXT_CHARS = 4000
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Longest message text accepted; longer input is refused with a clear error (see ``MessageTooLong``)."""


class MessageTooLong(ValueError):
    """Raised for text over :data:`MAX_TEXT_CHARS`; adapters answer 413, the playground shows the limit."""


class MessageKind(StrEnum):
    MESSAGE = "message"  # a new message typed (or spoken) by a person
    EDIT = "edit"  # the person edited an earlier message (same message_id)
    ACTION = "action"  # a button press; ``action_data`` holds the button's data
    EVENT = "event"  # membership and chat events; ``event`` names it, ``event_data`` details


class AttachmentKind(StrEnum):
    IMAGE = "image"
    VOICE = "voice"
    VIDEO = "video"
    FILE = "file"
    LOCATION = "location"
    STICKER = "sticker"
    LINK = "link"
    OTHER = "other"


class Attachment(BaseModel):
    """A summary of a non-text part: enough to show and audit, not the media itself."""

    kind: AttachmentKind
    ref: str | None = None  # platform file id, media id or URL
    label: str | None = None  # location label, file name, link title
    latitude: float | None = None
    longitude: float | None = None


class Message(BaseModel):
    """One inbound message, normalised. ``platform:chat_id`` names a chat everywhere."""

    model_config = ConfigDict(frozen=True)

    platform: str = Field(min_length=1, max_length=32)
    chat_id: str = Field(min_length=1, max_length=128)
    message_id: str = Field(min_length=1, max_length=128)  # the platform's id: the idempotency key
    sender_id: str = Field(min_length=1, max_length=128)
    sender_name: str = ""
    is_group: bool = True
    kind: MessageKind = MessageKind.MESSAGE
    mentions: list[str] = Field(default_factory=list)
    addressed_to_bot: bool = False
    reply_to_message_id: str | None = None
    thread_id: str | None = None
    text: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    voice_transcript: str | None = None
    action_data: str | None = None
    event: str | None = None
    event_data: dict[str, Any] = Field(default_factory=dict)
    sent_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    # When linli received it, by linli's own clock (set on ingest; sent_at is the platform's clock):
    # a command is judged against the ticket as it was then (see bots.actions.Conflict).
    received_at: datetime | None = None
    raw: dict[str, Any] = Field(default_factory=dict)

    @field_validator("text", "sender_name")
    @classmethod
    def _clean_text(cls, value: str) -> str:
        # Control characters (C0 other than newline/tab, DEL, C1) never reach the bot or the database.
        return _CONTROL.sub("", value)

    @field_validator("text")
    @classmethod
    def _limit_text(cls, value: str) -> str:
        if len(value) > MAX_TEXT_CHARS:
            raise MessageTooLong(
                f"message is {len(value)} characters; the limit is {MAX_TEXT_CHARS}. Split it into shorter messages."
            )
        return value

    @field_validator("sent_at", "received_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)

    @property
    def chat_key(self) -> str:
        """``platform:chat_id``, the form used in grids files, console and logs."""
        return f"{self.platform}:{self.chat_id}"

    @property
    def sender_key(self) -> str:
        return f"{self.platform}:{self.sender_id}"

    @property
    def content(self) -> str:
        """What the person said: typed text, else the platform's voice transcript."""
        return self.text.strip() or (self.voice_transcript or "").strip()


class Button(BaseModel):
    """An inline button; ``data`` comes back as ``Message.action_data`` when pressed."""

    label: str
    data: str = Field(max_length=64)  # Telegram's callback_data limit


class OutgoingReply(BaseModel):
    """One message the bot wants posted. Persisted in the outbox before any adapter sees it."""

    platform: str
    chat_id: str
    text: str
    reply_to_message_id: str | None = None
    thread_id: str | None = None
    buttons: list[list[Button]] = Field(default_factory=list)
    # When set, the adapter edits that earlier bot message instead of posting a new one
    # (e.g. a moderator card showing the ticket's new state).
    edit_message_id: str | None = None
    # Person-addressed platforms (WeChat Official Account, WeCom app) need the recipient.
    recipient_id: str | None = None
    # When set, the text answers that button press (the ACTION message's ``message_id``) privately:
    # Telegram shows it as an alert to the presser only; channels without such answers post it in
    # the chat like any reply.
    alert_for_action: str | None = None

    @property
    def chat_key(self) -> str:
        return f"{self.platform}:{self.chat_id}"


def split_chat_key(chat_key: str) -> tuple[str, str]:
    """Split ``platform:chat_id``; chat ids may themselves contain colons. Raises ValueError if malformed."""
    platform, sep, chat_id = chat_key.partition(":")
    if not sep or not platform or not chat_id:
        raise ValueError(f"chat must be written as platform:chat_id (e.g. telegram:-100123), got {chat_key!r}")
    return platform, chat_id
