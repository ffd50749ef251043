"""The bot's answers to a customer group, delivered to a person who can post them.

No bot can post into a customer group. A reply to a ``wecom-archive:<roomid>`` chat goes to
the group's owner (the grid workers of the group's grid who have a WeCom account) through the
WeCom app:

- an answer to someone in the group (it threads to their message) becomes a ready-to-send
  message 「请在「幸福里3栋群」回复：」 with the text on its own line, plus the card's hints
  (「回复「确认 12」或「驳回 12」」, which the worker sends to the app); with 企业群发 enabled it
  is also submitted as a customer-group mass message the owner confirms, within the daily and
  monthly limits (over them, the owner is told to post it by hand);
- a note for the staff (no message to thread to: 催办, 督办 …) is passed on as it is.

Answers handed over are recorded (``record``) so the console lists those still waiting to be
posted. Lookups and records are synchronous callables from the wiring (run in threads).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.base import ChannelAdapter, Delivered, DeliveryError
from adapters.wecom_archive import CHANNEL, PLATFORM
from adapters.wx_common import button_hints, post_with_token
from core.message import OutgoingReply


@dataclass(frozen=True)
class GroupOwner:
    """Who can post in a group: its title (as people know it) and the owners' WeCom userids."""

    title: str
    userids: list[str]


@dataclass(frozen=True)
class HandedOver:
    """An answer handed to the owner; ``via`` is ``app`` or ``mass``."""

    chat_key: str
    title: str
    text: str
    owners: list[str]
    via: str


class ArchiveRelay(ChannelAdapter):
    """Delivers ``wecom-archive`` replies through the WeCom app adapter (``app()``)."""

    platform = PLATFORM
    rate_limit = CHANNEL.capabilities.rate_limit
    direct_messages = CHANNEL.capabilities.one_to_one

    def __init__(self, *, app: Callable[[], ChannelAdapter | None], owner_of: Callable[[str], GroupOwner | None],
                 render: Callable[..., str], record: Callable[[HandedOver], None],
                 mass_over_limit: Callable[[str], str | None] | None = None,
                 on_start: Callable[[], Awaitable[None]] | None = None, on_stop: Callable[[], Awaitable[None]] | None = None):
        self.app, self.owner_of, self.render, self.record = app, owner_of, render, record
        self.mass_over_limit = mass_over_limit  # None: 企业群发 off; else the reason a group is over its limits, or None
        self.on_start, self.on_stop = on_start, on_stop

    async def start(self) -> None:
        if self.on_start is not None:
            await self.on_start()

    async def stop(self) -> None:
        if self.on_stop is not None:
            await self.on_stop()

    async def deliver(self, reply: OutgoingReply) -> Delivered:
        owner = await asyncio.to_thread(self.owner_of, reply.chat_key)
        if owner is None or not owner.userids:
            raise DeliveryError(f"nobody can post in {reply.chat_key}: bind it to a grid in the grids file and give that "
                                "grid's worker a wecom:<userid> account", retryable=False)
        app = self.app()
        if app is None:
            raise DeliveryError("answers to WeCom customer groups reach the group's owner through the WeCom app: set "
                                "LINLI_WECOM_CORP_ID, LINLI_WECOM_TOKEN, LINLI_WECOM_AES_KEY, LINLI_WECOM_AGENT_ID and "
                                "LINLI_WECOM_SECRET", retryable=False)
        via = None
        if reply.reply_to_message_id is None:  # a note for the staff, not words for the residents
            text = self.render("archive_staff_note", group=owner.title, text=reply.text)
        else:
            via, text = "app", self.render("archive_post_here", group=owner.title, text=reply.text)
            if self.mass_over_limit is not None:
                over = await asyncio.to_thread(self.mass_over_limit, reply.chat_key)
                if over is None:
                    await self._mass(app, owner.userids[0], reply)
                    via, text = "mass", self.render("archive_mass_submitted", group=owner.title, text=reply.text)
                else:
                    text += "\n" + self.render("archive_mass_over_limit", reason=over)
            # recorded before the note is sent: a retried note must not submit a second 企业群发
            await asyncio.to_thread(self.record, HandedOver(reply.chat_key, owner.title, reply.text, owner.userids, via))
        hints = button_hints(reply.buttons)
        note = OutgoingReply(platform=app.platform, chat_id=owner.userids[0], recipient_id="|".join(owner.userids),
                             text=f"{text}\n{hints}" if hints else text)
        return await app.deliver(note)

    async def _mass(self, app, sender: str, reply: OutgoingReply) -> None:
        """企业群发 to this one group (``chat_id_list``); the owner confirms it in WeCom."""
        payload = {"chat_type": "group", "sender": sender, "chat_id_list": [reply.chat_id], "allow_select": False,
                   "text": {"content": reply.text}}
        await post_with_token(app.client, app.tokens, f"{app.config.api_base}/cgi-bin/externalcontact/add_msg_template",
                              payload, "WeCom add_msg_template")
