"""Grids, chats, people, tickets with their reporters and trail, and the sweep's basis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import StrEnumColumn, UTCDateTime, created_column, time_column
from core.taxonomy import Category, Urgency
from core.ticket_states import TicketState


class Grid(SQLModel, table=True):
    """A place in the hierarchy district → street → community → grid."""

    __tablename__ = "grids"
    id: str = Field(primary_key=True, max_length=64)
    name: str
    level: str = Field(max_length=16)  # district | street | community | grid
    parent_id: str | None = Field(default=None, foreign_key="grids.id", index=True)
    aliases: str = ""  # comma-separated names residents use, e.g. 幸福小区


class Chat(SQLModel, table=True):
    """A group or 1:1 conversation, keyed ``platform:chat_id``. Unknown chats are recorded, grid None."""

    __tablename__ = "chats"
    key: str = Field(primary_key=True, max_length=200)
    platform: str = Field(max_length=32, index=True)
    chat_id: str = Field(max_length=128)
    grid_id: str | None = Field(default=None, foreign_key="grids.id", index=True)
    title: str = ""
    script: str = "simplified"  # simplified | traditional: which script replies use
    is_group: bool = True  # False for 1:1 channels (WeChat Official Account, WeCom app)
    active: bool = True
    first_seen_at: datetime = created_column()
    # residents | staff: staff notices (催办, 督办, 重办, 提醒, emergencies for the level above) go only to staff rooms
    audience: str = Field(default="residents", max_length=16, sa_column_kwargs={"server_default": "residents"})
    # The building (or place) the group is for, from the grids file: 「3栋」. Empty: community-wide.
    place: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})


class Person(SQLModel, table=True):
    """Someone on a platform, keyed ``platform:user_id``, with one role."""

    __tablename__ = "people"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True, index=True)
    name: str = ""
    role: str = Field(default="resident", max_length=16)
    grid_id: str | None = Field(default=None, foreign_key="grids.id", index=True)
    phone: str | None = None
    trusted: bool = False  # trusted relayers (care centres) skip confirmation
    declared: bool = False  # True when it comes from the grids file


# The open states as literal SQL, shared by the partial indexes below and the queries that use
# them: SQLite's planner picks a partial index only when the query's WHERE contains the index's
# own predicate, and a bound parameter never matches a literal.
OPEN_STATES_SQL = "state IN (" + ", ".join(f"'{s.value}'" for s in TicketState if s.is_open) + ")"


def open_states_clause() -> sa.TextClause:
    """``state IN (<open states>)`` as the partial indexes on tickets spell it."""
    return sa.text(OPEN_STATES_SQL)


# ``Ticket.next_sweep_at`` of a ticket that must be looked at by the next sweep.
SWEEP_NOW = datetime(1970, 1, 1, tzinfo=UTC)


class Ticket(SQLModel, table=True):
    """One tracked request. ``id`` is the number people see (#12)."""

    __tablename__ = "tickets"
    __table_args__ = (
        sa.Index("ix_tickets_state_grid", "state", "grid_id"),
        sa.Index("ix_tickets_open_deadline", "state", "resolve_due_at"),
        # Open tickets by deadline (the console's overdue list) and by the sweep's next visit.
        sa.Index("ix_tickets_open_due", "resolve_due_at", "id",
                 sqlite_where=sa.text(OPEN_STATES_SQL), postgresql_where=sa.text(OPEN_STATES_SQL)),
        sa.Index("ix_tickets_open_next_sweep", "next_sweep_at",
                 sqlite_where=sa.text(OPEN_STATES_SQL), postgresql_where=sa.text(OPEN_STATES_SQL)),
        # Open (and overdue) tickets, recently updated first.
        sa.Index("ix_tickets_open_updated", "updated_at", "id",
                 sqlite_where=sa.text(OPEN_STATES_SQL), postgresql_where=sa.text(OPEN_STATES_SQL)),
    )
    id: int | None = Field(default=None, primary_key=True)
    text: str
    category: Category = Field(sa_column=sa.Column(StrEnumColumn(Category, 32), nullable=False, index=True))
    urgency: Urgency = Field(sa_column=sa.Column(StrEnumColumn(Urgency, 16), nullable=False))
    state: TicketState = Field(sa_column=sa.Column(StrEnumColumn(TicketState, 16), nullable=False))
    confidence: float = 0.0
    grid_id: str | None = Field(default=None, foreign_key="grids.id", index=True)
    chat_key: str = Field(max_length=200, index=True)  # where it was raised
    origin_message_id: str = ""
    thread_id: str | None = None
    created_by: str = ""  # person key
    on_behalf_of: str | None = None  # the elder a care centre relays for
    location: str | None = None
    department: str | None = None
    assignee: str | None = None  # person key or free text
    master_id: int | None = Field(default=None, foreign_key="tickets.id")
    escalation_level: str | None = None  # community | street | district once escalated
    created_at: datetime = created_column()
    updated_at: datetime = created_column()
    confirm_due_at: datetime | None = time_column()
    resolve_due_at: datetime | None = time_column()
    confirmed_at: datetime | None = time_column()
    resolved_at: datetime | None = time_column()
    closed_at: datetime | None = time_column()
    # When the SLA sweep must look at this open ticket next (None: nothing can fall due until the
    # ticket changes). Set by the sweep from the stored times; any change to the fields the
    # warnings depend on resets it to SWEEP_NOW (see _ticket_changed), so it is never too late.
    next_sweep_at: datetime | None = Field(default=SWEEP_NOW, sa_column=sa.Column(
        UTCDateTime(), nullable=True, server_default=sa.text("'1970-01-01 00:00:00'")))


# Fields the SLA warnings are computed from: changing one means the sweep must look again.
_SWEEP_FIELDS = ("state", "confirm_due_at", "resolve_due_at", "escalation_level", "category", "urgency", "grid_id")


@sa.event.listens_for(Ticket, "before_update")
def _ticket_changed(mapper: Any, connection: Any, ticket: Ticket) -> None:
    state = sa.inspect(ticket)
    if state.attrs.next_sweep_at.history.has_changes():
        return  # the sweep set it itself, from the new values
    if any(state.attrs[name].history.has_changes() for name in _SWEEP_FIELDS):
        ticket.next_sweep_at = SWEEP_NOW


class TicketReporter(SQLModel, table=True):
    """A person who reported (or joined) a ticket, and where to tell them about it."""

    __tablename__ = "ticket_reporters"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "person_key"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    person_key: str = Field(max_length=200, index=True)
    chat_key: str = Field(max_length=200)
    message_id: str | None = None
    thread_id: str | None = None
    joined_at: datetime = created_column()


class TicketEvent(SQLModel, table=True):
    """The audit trail. Rows are only ever inserted (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "ticket_events"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    actor: str = Field(max_length=200)  # person key, or "system"
    kind: str = Field(max_length=32)  # created | transition | note | reporter | assign | reclassify ...
    from_state: str | None = None
    to_state: str | None = None
    note: str = ""
    data: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    created_at: datetime = created_column()


class SweepBasis(SQLModel, table=True):
    """What the open tickets' stored next sweep times were computed from (one row, id 1): a
    fingerprint of the SLA policy, the grids and :func:`core.deadlines.next_check`. A sweeper
    with another fingerprint looks at every open ticket once and then records its own."""

    __tablename__ = "sweep_basis"
    id: int = Field(default=1, primary_key=True)
    fingerprint: str = Field(max_length=64)
    recorded_at: datetime = created_column()
