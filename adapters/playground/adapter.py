"""The built-in web playground channel: a group chat in the browser, no account needed.

It is a channel like any other: browser posts become :class:`Message`, replies are
"delivered" by being marked sent in the outbox, where the page reads them.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from adapters.base import ChannelAdapter, Delivered, MalformedPayload
from adapters.playground import CHANNEL, PLATFORM
from core.message import Message, MessageKind, MessageTooLong, OutgoingReply


class PlaygroundPost(BaseModel):
    """What the playground page sends for one typed message or button press."""

    room: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    sender_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    sender_name: str = Field("", max_length=64)
    text: str = ""
    client_id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)
    reply_to: str | None = Field(None, max_length=64)
    action_data: str | None = Field(None, max_length=64)


def parse(payload: Any) -> Message:
    """Validate a playground post into a Message; MalformedPayload (400) says what is wrong."""
    try:
        post = PlaygroundPost.model_validate(payload)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise MalformedPayload(details) from exc
    if not post.action_data and not post.text.strip():
        raise MalformedPayload("text: an empty message cannot be sent")
    try:
        return Message(
            platform=PLATFORM,
            chat_id=post.room,
            message_id=post.client_id,
            sender_id=post.sender_id,
            sender_name=post.sender_name,
            is_group=True,
            kind=MessageKind.ACTION if post.action_data else MessageKind.MESSAGE,
            text=post.text,
            reply_to_message_id=post.reply_to,
            action_data=post.action_data,
            raw=post.model_dump(),
        )
    except MessageTooLong as exc:
        raise MalformedPayload(str(exc)) from exc
    except ValidationError as exc:
        raise MalformedPayload("; ".join(e["msg"] for e in exc.errors())) from exc


class PlaygroundAdapter(ChannelAdapter):
    platform = PLATFORM
    rate_limit = CHANNEL.capabilities.rate_limit
    direct_messages = CHANNEL.capabilities.one_to_one

    async def deliver(self, reply: OutgoingReply) -> Delivered:
        # The page reads sent outbox rows; the id lets later replies thread on this one.
        return Delivered(platform_message_id=f"bot-{uuid.uuid4().hex[:12]}")
