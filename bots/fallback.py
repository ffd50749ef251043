"""When a person cannot be reached any more (RecipientUnreachable, e.g. WeChat's 48-hour
window), the reason goes on the ticket's trail and its grid worker is told instead.

Platform-neutral: the note goes to a grid worker's account on a platform that can message
people directly (``ChannelAdapter.direct_messages``), else to the group chats bound to the
ticket's grid (or the levels above) marked ``audience: staff``, on any configured platform except
the failing one: the note quotes the resident's update, which is not for a residents' group.
"""

from __future__ import annotations

from sqlmodel import Session, select

from adapters.registry import title
from bots.templates import Templates
from core import outbox, tickets
from core.grids import Audience, ancestors
from core.masking import mask
from core.message import OutgoingReply, split_chat_key
from core.models import Chat, OutboxMessage, Ticket
from core.people import workers_for


def _targets(session: Session, ticket: Ticket, failed: str, adapters: dict) -> list[OutgoingReply]:
    direct = {p for p, a in adapters.items() if getattr(a, "direct_messages", False) and p != failed}
    for worker in workers_for(session, ticket.grid_id):
        platform, user_id = split_chat_key(worker.key)
        if platform in direct:
            return [OutgoingReply(platform=platform, chat_id=user_id, recipient_id=user_id, text="")]
    for grid in ancestors(session, ticket.grid_id):
        chats = session.exec(select(Chat).where(Chat.grid_id == grid.id, Chat.is_group, Chat.active,
                                                Chat.audience == Audience.STAFF.value)
                             .where(Chat.platform != failed).order_by(Chat.key)).all()
        found = [OutgoingReply(platform=c.platform, chat_id=c.chat_id, text="") for c in chats if c.platform in adapters]
        if found:
            return found
    return []


def tell_grid_worker(session: Session, row: OutboxMessage, reason: str, templates: Templates, adapters: dict) -> int:
    """Record why ``row`` could not reach its person and enqueue a note for the grid worker.
    Returns how many notes were enqueued (0 when the row has no ticket or nobody is reachable)."""
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
    if ticket is None:
        return 0
    reply = outbox.reply_of(row)
    tickets.record(session, ticket, tickets.SYSTEM, "note", f"无法送达 {row.chat_key}：{reason}",
                   data={"outbox_id": row.id, "recipient": reply.recipient_id, "undeliverable": True})
    channel = title(row.platform)
    text = templates.render("recipient_unreachable", number=ticket.id, channel=channel, reason=reason, text=reply.text)
    enqueued = 0
    for target in _targets(session, ticket, row.platform, adapters):
        note = target.model_copy(update={"text": text if target.recipient_id else mask(text)})  # a group: masked
        if outbox.enqueue(session, note, dedup_key=f"unreachable:{row.id}:{note.chat_key}", ticket_id=ticket.id,
                          inbox_id=row.inbox_id) is not None:
            enqueued += 1
    return enqueued
