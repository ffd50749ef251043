"""Chat lifecycle: a chat changing its id (Telegram group → supergroup), the bot joining or leaving.

Platform-neutral: adapters report these as ``MessageKind.EVENT`` messages and the bot calls
these functions; nothing here knows which platform it is.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core import tickets
from core.dialogue import open_key
from core.message import split_chat_key
from core.models import Chat, OutboxMessage, PendingQuestion, Ticket, TicketReporter, utcnow


def migrate_chat(session: Session, old_key: str, new_key: str, *, at: datetime | None = None) -> int:
    """Move a chat to its new id: grid binding, tickets, reporters and undelivered replies follow.

    The old chat row stays (inactive) for the record; every moved ticket gets a
    ``chat_migrated`` event. Safe to call twice (the second call moves nothing).
    Returns how many tickets moved.
    """
    if old_key == new_key:
        return 0
    now = at or utcnow()
    old = session.get(Chat, old_key)
    new = session.get(Chat, new_key)
    if new is None:
        platform, chat_id = split_chat_key(new_key)
        new = Chat(key=new_key, platform=platform, chat_id=chat_id, first_seen_at=now)
    if old is not None:
        if new.grid_id is None:
            new.grid_id = old.grid_id
            new.script = old.script
        new.title = new.title or old.title
        new.place = new.place or old.place
        new.is_group = old.is_group
        old.active = False
        session.add(old)
    new.active = True
    session.add(new)
    session.flush()

    moved = list(session.exec(select(Ticket).where(Ticket.chat_key == old_key)))
    for ticket in moved:
        ticket.chat_key = new_key
        session.add(ticket)
        tickets.record(session, ticket, tickets.SYSTEM, "chat_migrated", at=now, data={"from": old_key, "to": new_key})
    session.execute(sa.update(TicketReporter).where(col(TicketReporter.chat_key) == old_key).values(chat_key=new_key))
    for question in session.exec(select(PendingQuestion).where(PendingQuestion.chat_key == old_key,
                                                               col(PendingQuestion.open_key).is_not(None))):
        question.chat_key, question.open_key = new_key, open_key(question.person_key, new_key)
        session.add(question)

    _, new_chat_id = split_chat_key(new_key)
    waiting = session.exec(select(OutboxMessage).where(
        col(OutboxMessage.chat_key) == old_key, col(OutboxMessage.status).in_(["pending", "sending"])))
    for row in waiting:
        row.chat_key = new_key
        row.payload = {**row.payload, "chat_id": new_chat_id}
        session.add(row)
    session.flush()
    return len(moved)


def set_bot_present(session: Session, chat_key: str, present: bool) -> Chat | None:
    """Record that the bot was added to (active) or removed from (inactive) a known chat."""
    chat = session.get(Chat, chat_key)
    if chat is not None and chat.active != present:
        chat.active = present
        session.add(chat)
    return chat
