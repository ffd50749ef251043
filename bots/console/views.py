"""Reading what the console shows: filters from a query string, a ticket's conversation, failed deliveries,
answers waiting for a person to post them in a WeCom customer group."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from core.accounts import Scope
from core.archive import ArchiveAnswer, ArchiveRecord
from core.grids import Level
from core.models import Chat, Grid, InboxMessage, OutboxMessage, Person, Ticket, TicketReporter
from core.search import BadQuery, TicketFilter
from core.stats import local_day_start
from core.taxonomy import Category, Urgency
from core.ticket_states import TicketState


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name} must be a date like 2026-03-01, got {text!r}") from None
    if not 1970 <= day.year <= 9998:  # outside this, time zones overflow; no ticket is there anyway
        raise BadQuery(f"{name} must be a date between 1970 and 9998, got {text!r}")
    return day


def date_range(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """Local calendar days (end inclusive) → an aware [from, to) range."""
    a, b = _day(start, "from"), _day(end, "to")
    return (local_day_start(a) if a else None, local_day_start(b + timedelta(days=1)) if b else None)


def _enum_list(values: list[str], enum, name: str) -> tuple:
    out = []
    for v in values:
        if not v:
            continue
        try:
            out.append(enum(v))
        except ValueError:
            raise BadQuery(f"unknown {name} {v!r}; use one of {', '.join(e.value for e in enum)}") from None
    return tuple(out)


def filter_from_query(params: Mapping) -> TicketFilter:
    """The ticket filter of a console URL (?state=pending&category=noise&grid=xingfu&overdue=1&q=…)."""
    getlist = params.getlist if hasattr(params, "getlist") else (lambda k: [params[k]] if k in params else [])
    start, end = date_range(params.get("from"), params.get("to"))
    urgency = _enum_list([params.get("urgency") or ""], Urgency, "urgency")
    return TicketFilter(
        states=_enum_list(getlist("state"), TicketState, "state"),
        status=params.get("status") or None,
        categories=_enum_list(getlist("category"), Category, "category"),
        grid_id=params.get("grid") or None,
        urgency=urgency[0] if urgency else None,
        overdue=params.get("overdue") in ("1", "on", "true"),
        created_from=start,
        created_to=end,
        text=(params.get("q") or "")[:200],
        sort=params.get("sort") or "newest",
    )


def grids_in_scope(session: Session, scope: Scope) -> list[Grid]:
    """Grids the viewer may filter by, in hierarchy order."""
    rows = list(session.exec(select(Grid)))
    order = {lv.value: i for i, lv in enumerate([Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID])}
    rows = [g for g in rows if scope.sees_grid(g.id)]
    return sorted(rows, key=lambda g: (order.get(g.level, 9), g.id))


@dataclass
class Line:
    """One line of a ticket's conversation: a person's message or the bot's reply."""

    at: datetime
    who: str
    text: str
    is_bot: bool
    chat: str
    status: str = ""


def conversation(session: Session, ticket: Ticket, limit: int = 200, scan: int = 2000) -> list[Line]:
    """The messages linked to this ticket and what the bot said about it.

    Linked: each reporter's own report (and the ticket's origin message), every message the bot
    answered about this ticket (「确认 12」, 「补充 12 …」, a duplicate that joined it), and replies to
    the bot's messages about it. Other things its reporters said later are not shown."""
    outbox = list(session.exec(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)
                               .order_by(OutboxMessage.id).limit(limit)))
    reporters = list(session.exec(select(TicketReporter).where(TicketReporter.ticket_id == ticket.id)))
    origin_keys = {f"{ticket.chat_key}:{ticket.origin_message_id}"} | {
        f"{r.chat_key}:{r.message_id}" for r in reporters if r.message_id}
    answered = {row.inbox_id for row in outbox if row.inbox_id}
    bot_messages = {(row.chat_key, row.platform_message_id) for row in outbox if row.platform_message_id}
    linked = sa.or_(InboxMessage.dedup_key.in_(sorted(origin_keys)), InboxMessage.id.in_(sorted(answered)))
    rows = {row.id: row for row in session.exec(select(InboxMessage).where(linked).order_by(InboxMessage.id).limit(limit))}
    if bot_messages:
        # Replies to the bot's messages about this ticket, in the chats it spoke in since the ticket began.
        chats = sorted({chat for chat, _ in bot_messages})
        since = ticket.created_at - timedelta(minutes=1)
        for row in session.exec(select(InboxMessage).where(InboxMessage.chat_key.in_(chats), InboxMessage.received_at >= since)
                                .order_by(InboxMessage.id).limit(scan)):
            if (row.chat_key, row.payload.get("reply_to_message_id")) in bot_messages:
                rows.setdefault(row.id, row)
    senders = {row.sender_key for row in rows.values()}
    names = {p.key: p.name for p in session.exec(select(Person).where(Person.key.in_(sorted(senders))))} if senders else {}
    lines = [Line(row.received_at, row.payload.get("sender_name") or names.get(row.sender_key) or row.sender_key,
                  row.text or "〔点了按钮〕", False, row.chat_key)
             for row in rows.values() if row.text or row.payload.get("action_data")]
    for row in outbox:
        if row.payload.get("text"):
            lines.append(Line(row.created_at, "邻里助手", row.payload["text"], True, row.chat_key, row.status))
    return sorted(lines, key=lambda line: line.at)[:limit]


def failed_deliveries(session: Session, scope: Scope, limit: int = 200) -> list[tuple[OutboxMessage, Chat | None]]:
    """Replies the outbox gave up on, with their reason, newest first (read-only)."""
    q = select(OutboxMessage, Chat).join(Chat, Chat.key == OutboxMessage.chat_key, isouter=True).where(OutboxMessage.status == "failed")
    if scope.grid_ids is not None:
        q = q.where(Chat.grid_id.in_(sorted(scope.grid_ids)) if scope.grid_ids else sa.false())
    return list(session.exec(q.order_by(OutboxMessage.id.desc()).limit(limit)))


def answers_to_post(session: Session, scope: Scope, limit: int = 200) -> list[tuple[ArchiveAnswer, Chat | None]]:
    """Answers for WeCom customer groups handed to the group's owner and not yet seen posted
    in the group (the chat archive shows when they are), oldest first (read-only)."""
    q = select(ArchiveAnswer, Chat).join(Chat, Chat.key == ArchiveAnswer.chat_key, isouter=True).where(ArchiveAnswer.status == "waiting")
    if scope.grid_ids is not None:
        q = q.where(Chat.grid_id.in_(sorted(scope.grid_ids)) if scope.grid_ids else sa.false())
    return list(session.exec(q.order_by(ArchiveAnswer.id).limit(limit)))


def kept_archive_records(session: Session, scope: Scope, limit: int = 100) -> list[tuple[ArchiveRecord, Chat | None]]:
    """Chat-archive records that did not reach the bot, with the reason, newest first (read-only).
    Bad records name no group (they could not be read), so only district-wide viewers see them."""
    q = select(ArchiveRecord, Chat).join(Chat, Chat.key == ArchiveRecord.chat_key, isouter=True)
    if scope.grid_ids is not None:
        q = q.where(Chat.grid_id.in_(sorted(scope.grid_ids)) if scope.grid_ids else sa.false())
    return list(session.exec(q.order_by(ArchiveRecord.seq.desc()).limit(limit)))
