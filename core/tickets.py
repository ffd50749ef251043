"""Ticket operations. Every change goes through here and writes an event (the audit trail)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.db import pk, table_of
from core.models import Person, Ticket, TicketEvent, TicketReporter, utcnow
from core.taxonomy import Category, Urgency
from core.ticket_states import TicketState, check_move, is_reopen

SYSTEM = "system"
# The largest ticket number (and row id) there can be: the id columns are INTEGER, which
# PostgreSQL stores in 32 bits (SQLite would hold more). A larger number a client sends is
# simply not found, never handed to the database (PostgreSQL refuses it: a 500).
MAX_NUMBER = 2**31 - 1


class TicketNotFound(LookupError):
    def __init__(self, number: int):
        super().__init__(f"没有编号为 #{number} 的诉求，请核对编号")
        self.number = number


def get(session: Session, number: int) -> Ticket | None:
    """The ticket with this number; None for any number no ticket can have (0, negative, over MAX_NUMBER)."""
    if not 1 <= number <= MAX_NUMBER:
        return None
    return session.get(Ticket, number)


def get_ticket(session: Session, number: int) -> Ticket:
    """The ticket with this number, or :class:`TicketNotFound`."""
    ticket = get(session, number)
    if ticket is None:
        raise TicketNotFound(number)
    return ticket


# SQLite has one writer at a time: a write that changes nothing takes that lock (waiting out the
# busy timeout) before anything is read, like BEGIN IMMEDIATE. ``confidence`` is in no index or key.
_SQLITE_TAKE_WRITE_LOCK = (
    sa.update(table_of(Ticket))
    .where(table_of(Ticket).c.id == sa.bindparam("number"))
    .values(confidence=table_of(Ticket).c.confidence)
)


def lock(session: Session, number: int, *also: int) -> Ticket | None:
    """Lock ticket ``number`` (and the tickets in ``also``, e.g. a merge's target) until the
    transaction ends, and return it as now stored; None when there is no such ticket.

    Every change to an existing ticket starts here, before its checks: a concurrent change
    then waits for this transaction and afterwards reads its result, so two actors can never
    both move a ticket out of the same state. Unflushed changes are flushed first; the locked
    tickets are reloaded (the session's objects show the stored values).

    PostgreSQL: ``SELECT … FOR UPDATE``, one ticket at a time in ascending number order, so
    two crossed merges (15 into 12 and 12 into 15) cannot deadlock. SQLite: the database's
    write lock is taken first, so whatever the transaction reads afterwards is current.
    """
    numbers = sorted({number, *also})
    session.flush()
    if session.get_bind().dialect.name == "sqlite":
        session.connection().execute(_SQLITE_TAKE_WRITE_LOCK, {"number": numbers[0]})
    found: dict[int, Ticket | None] = {}
    for n in numbers:
        query = select(Ticket).where(Ticket.id == n).with_for_update().execution_options(populate_existing=True)
        found[n] = session.exec(query).first()
    return found[number]


def record(
    session: Session,
    ticket: Ticket,
    actor: str,
    kind: str,
    note: str = "",
    *,
    from_state: TicketState | None = None,
    to_state: TicketState | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    """Append one event to the ticket's trail."""
    event = TicketEvent(
        ticket_id=pk(ticket),
        actor=actor,
        kind=kind,
        note=note,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value if to_state else None,
        data=data or {},
        created_at=at or utcnow(),
    )
    session.add(event)
    return event


def open_ticket(
    session: Session,
    *,
    text: str,
    category: Category,
    urgency: Urgency,
    chat_key: str,
    reporter_key: str,
    state: TicketState = TicketState.PENDING,
    confidence: float = 0.0,
    grid_id: str | None = None,
    origin_message_id: str = "",
    thread_id: str | None = None,
    location: str | None = None,
    on_behalf_of: str | None = None,
    confirm_due_at: datetime | None = None,
    resolve_due_at: datetime | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Create a ticket with its first reporter and a ``created`` event. Returns it with its number."""
    if state not in (TicketState.PENDING, TicketState.CONFIRMED):
        raise ValueError("a new ticket starts pending, or confirmed when no confirmation is needed")
    now = at or utcnow()
    ticket = Ticket(
        text=text,
        category=category,
        urgency=urgency,
        state=state,
        confidence=confidence,
        grid_id=grid_id,
        chat_key=chat_key,
        origin_message_id=origin_message_id,
        thread_id=thread_id,
        created_by=reporter_key,
        on_behalf_of=on_behalf_of,
        location=location,
        confirm_due_at=confirm_due_at,
        resolve_due_at=resolve_due_at,
        created_at=now,
        updated_at=now,
        confirmed_at=now if state is TicketState.CONFIRMED else None,
    )
    session.add(ticket)
    session.flush()  # assigns the number
    session.add(
        TicketReporter(
            ticket_id=pk(ticket), person_key=reporter_key, chat_key=chat_key,
            message_id=origin_message_id or None, thread_id=thread_id, joined_at=now,
        )
    )
    record(session, ticket, reporter_key, "created", text, to_state=state, at=now,
           data={"category": category.value, "urgency": urgency.value, "on_behalf_of": on_behalf_of})
    return ticket


_TIMESTAMP_ON_ENTRY = {
    TicketState.CONFIRMED: "confirmed_at",
    TicketState.RESOLVED: "resolved_at",
    TicketState.CLOSED: "closed_at",
}


def move(
    session: Session, ticket: Ticket, target: TicketState, actor: str, note: str = "", *,
    at: datetime | None = None, data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Move a ticket to ``target`` if the state table allows it; raise IllegalTransition otherwise."""
    current = TicketState(ticket.state)
    check_move(current, target)
    now = at or utcnow()
    ticket.state = target
    ticket.updated_at = now
    if stamp := _TIMESTAMP_ON_ENTRY.get(target):
        if getattr(ticket, stamp) is None or target is not TicketState.CONFIRMED:
            setattr(ticket, stamp, now)
    if is_reopen(current, target):
        ticket.resolved_at = None
        ticket.closed_at = None
    session.add(ticket)
    kind = "reopen" if is_reopen(current, target) else "transition"
    return record(session, ticket, actor, kind, note, from_state=current, to_state=target, at=now, data=data)


def revise(
    session: Session, ticket: Ticket, text: str, actor: str, *,
    category: Category | None = None, urgency: Urgency | None = None, at: datetime | None = None,
) -> TicketEvent:
    """Replace a ticket's text (its reporter edited the message), and its category or urgency if given.

    The ``edited`` event keeps what it said before.
    """
    now = at or utcnow()
    before = {"text": ticket.text, "category": Category(ticket.category).value, "urgency": Urgency(ticket.urgency).value}
    ticket.text = text
    if category is not None:
        ticket.category = category
    if urgency is not None:
        ticket.urgency = urgency
    ticket.updated_at = now
    session.add(ticket)
    return record(session, ticket, actor, "edited", text, at=now, data={"before": before})


def add_reporter(
    session: Session, ticket: Ticket, person_key: str, chat_key: str, *,
    message_id: str | None = None, thread_id: str | None = None, at: datetime | None = None,
) -> bool:
    """Add someone who reports the same problem. False if they were already a reporter."""
    exists = session.exec(
        select(TicketReporter).where(TicketReporter.ticket_id == ticket.id, TicketReporter.person_key == person_key)
    ).first()
    if exists:
        return False
    now = at or utcnow()
    session.add(TicketReporter(ticket_id=pk(ticket), person_key=person_key, chat_key=chat_key,
                               message_id=message_id, thread_id=thread_id, joined_at=now))
    record(session, ticket, person_key, "reporter", "", at=now, data={"chat": chat_key, "message_id": message_id})
    return True


def reporters(session: Session, ticket_id: int) -> list[TicketReporter]:
    return list(session.exec(select(TicketReporter).where(col(TicketReporter.ticket_id) == ticket_id).order_by(col(TicketReporter.id))))


def events(session: Session, ticket_id: int) -> list[TicketEvent]:
    """The audit trail, oldest first."""
    return list(session.exec(select(TicketEvent).where(col(TicketEvent.ticket_id) == ticket_id).order_by(col(TicketEvent.id))))


def tickets_reported_by(session: Session, person_key: str, limit: int = 10) -> list[Ticket]:
    q = (
        select(Ticket)
        .join(TicketReporter, col(TicketReporter.ticket_id) == col(Ticket.id))
        .where(TicketReporter.person_key == person_key)
        .order_by(col(Ticket.id).desc())
        .limit(limit)
    )
    return list(session.exec(q))


def tickets_concerning(session: Session, person: Person, limit: int = 10) -> list[Ticket]:
    """The newest tickets the person reported, and (for a declared person) those filed on their behalf."""
    found = {t.id: t for t in tickets_reported_by(session, person.key, limit)}
    if person.declared and person.name:
        name = person.name.split("（")[0]
        q = select(Ticket).where(col(Ticket.on_behalf_of).startswith(name, autoescape=True)).order_by(col(Ticket.id).desc()).limit(limit)
        found.update((t.id, t) for t in session.exec(q))
    return sorted(found.values(), key=lambda t: -pk(t))[:limit]
