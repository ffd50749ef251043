"""Replies the bot posts and where they go.

Every reply is built by :meth:`Destination.reply`, the one place that masks phone and ID
numbers when the destination is a group, so nothing the bot says in a group leaks them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session, select

from bots.templates import script_for
from core import outbox
from core.db import pk
from core.grids import Audience, ancestors
from core.masking import mask
from core.message import Button, Message, MessageKind, OutgoingReply, split_chat_key
from core.models import Chat, OutboxMessage, Ticket
from core.tickets import reporters


@dataclass
class BotReply:
    """A reply plus what the outbox needs: a key unique within its cause, and the ticket."""

    reply: OutgoingReply
    key: str
    ticket_id: int | None = None


@dataclass(frozen=True)
class Destination:
    """A chat (or a thread, or one person in a 1:1 channel) and the script replies there use."""

    platform: str
    chat_id: str
    is_group: bool = True
    reply_to_message_id: str | None = None
    thread_id: str | None = None
    recipient_id: str | None = None
    script: str = "simplified"

    @property
    def chat_key(self) -> str:
        return f"{self.platform}:{self.chat_id}"

    @property
    def identity(self) -> tuple[str, str | None, str | None]:
        """Two destinations with the same identity reach the same people: tell them once."""
        return (self.chat_key, self.thread_id, None if self.is_group else self.recipient_id)

    def reply(self, text: str, key: str, *, ticket_id: int | None = None, buttons: list[list[Button]] | None = None) -> BotReply:
        """A reply to this destination; phone and ID numbers are masked in groups."""
        return BotReply(
            OutgoingReply(
                platform=self.platform, chat_id=self.chat_id, text=mask(text) if self.is_group else text,
                reply_to_message_id=self.reply_to_message_id, thread_id=self.thread_id,
                buttons=buttons or [], recipient_id=None if self.is_group else self.recipient_id,
            ),
            key, ticket_id,
        )

    def unthreaded(self) -> Destination:
        return replace(self, reply_to_message_id=None)


def origin_of(message: Message, chat: Chat) -> Destination:
    """Where to answer a message: its chat, threaded to it (a button press threads to the card)."""
    return Destination(
        platform=message.platform, chat_id=message.chat_id, is_group=message.is_group,
        reply_to_message_id=message.message_id if message.kind is not MessageKind.ACTION else message.reply_to_message_id,
        thread_id=message.thread_id, recipient_id=None if message.is_group else message.sender_id,
        script=script_for(chat.script, message.content),
    )


def chat_destination(session: Session, chat_key: str, *, sample_text: str = "", reply_to: str | None = None,
                     thread_id: str | None = None, person_key: str | None = None) -> Destination:
    """A destination for a known chat key; 1:1 chats need the person it is for."""
    platform, chat_id = split_chat_key(chat_key)
    chat = session.get(Chat, chat_key)
    is_group = chat is None or chat.is_group
    recipient = None if is_group or person_key is None else split_chat_key(person_key)[1]
    return Destination(platform, chat_id, is_group, reply_to, thread_id, recipient,
                       script_for(chat.script if chat else "simplified", sample_text))


def reporter_destinations(session: Session, ticket: Ticket) -> list[Destination]:
    """Every chat (thread, or person in a 1:1 channel) where someone reported the ticket, once each."""
    seen: set = set()
    out: list[Destination] = []
    for r in reporters(session, pk(ticket)):
        dest = chat_destination(session, r.chat_key, sample_text=ticket.text, reply_to=r.message_id,
                                thread_id=r.thread_id, person_key=r.person_key)
        if dest.identity not in seen:
            seen.add(dest.identity)
            out.append(dest)
    return out


def staff_destinations(session: Session, grid_id: str | None, ticket: Ticket | None = None,
                       can_receive: Callable[[str], bool] | None = None) -> list[Destination]:
    """The staff rooms where the workers of ``grid_id`` are told things.

    Group chats marked ``audience: staff`` bound to that grid, else to the nearest grid above it
    that has any; with ``can_receive``, only chats a configured channel can post into. When the
    ticket's own chat is among them, only that chat is used (the worker is there already).
    A residents' group is never one of them.
    """
    for grid in ancestors(session, grid_id):
        chats = [c for c in session.exec(
            select(Chat).where(Chat.grid_id == grid.id, Chat.active, Chat.is_group, Chat.audience == Audience.STAFF.value)
            .order_by(Chat.key)) if can_receive is None or can_receive(c.key)]
        if not chats:
            continue
        if ticket is not None and any(c.key == ticket.chat_key for c in chats):
            chats = [c for c in chats if c.key == ticket.chat_key]
        sample = ticket.text if ticket else ""
        return [Destination(c.platform, c.chat_id, True, script=script_for(c.script, sample)) for c in chats]
    return []


def tell(destinations: list[Destination], text_for, key: str, *, ticket_id: int | None = None,
         skip: set | None = None, buttons_for=None) -> list[BotReply]:
    """One reply per destination not in ``skip`` (identities); ``text_for(dest)`` renders in its script.

    ``skip`` is updated, so a sequence of ``tell`` calls reaches each chat once.
    """
    skip = skip if skip is not None else set()
    out = []
    for dest in destinations:
        if dest.identity in skip:
            continue
        skip.add(dest.identity)
        suffix = ":".join(str(p) for p in dest.identity if p)
        out.append(dest.reply(text_for(dest), f"{key}:to:{suffix}", ticket_id=ticket_id,
                              buttons=buttons_for(dest) if buttons_for else None))
    return out


def enqueue(session: Session, replies: list[BotReply], prefix: str, *, at: datetime | None = None) -> list[OutboxMessage]:
    """Store replies in the outbox in the caller's transaction; ``prefix`` makes their keys unique
    (e.g. ``console:<request id>``). A reply whose key is already stored is not stored again."""
    rows = [outbox.enqueue(session, r.reply, dedup_key=f"{prefix}:{r.key}", ticket_id=r.ticket_id, at=at) for r in replies]
    return [r for r in rows if r is not None]
