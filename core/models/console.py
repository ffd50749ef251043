"""Tables of the console and the API (accounts, login sessions, API tokens) and the ticket-list indexes.

Registered by importing core.models (Alembic sees them); the logic lives in core/accounts.py and core/search.py.
Secrets are never stored: passwords as argon2 hashes, session and API tokens as SHA-256
digests of high-entropy random strings.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import UTCDateTime, created_column, table_of, time_column
from core.models.tickets import Ticket, TicketEvent


class ConsoleAccount(SQLModel, table=True):
    """A login for the console, linked to a person of the grids file (their role and grid decide the scope)."""

    __tablename__ = "console_accounts"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str
    person_key: str = Field(max_length=200, index=True)  # people.key, e.g. playground:wangfang
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = time_column()
    created_at: datetime = created_column()
    last_login_at: datetime | None = time_column()


class ConsoleSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its digest is stored, so logout revokes it."""

    __tablename__ = "console_sessions"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: int = Field(foreign_key="console_accounts.id", index=True)
    created_at: datetime = created_column()
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class ApiToken(SQLModel, table=True):
    """A per-account bearer token for /api and Open311, with scopes ``read`` and/or ``write``."""

    __tablename__ = "api_tokens"
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="console_accounts.id", index=True)
    name: str = Field(default="", max_length=100)
    prefix: str = Field(max_length=16)  # the first characters, to recognise a token in lists
    token_hash: str = Field(max_length=64, unique=True)
    scopes: str = Field(default="read", max_length=100)  # comma-separated
    created_at: datetime = created_column()
    last_used_at: datetime | None = time_column()
    revoked_at: datetime | None = time_column()


class RateCounter(SQLModel, table=True):
    """Attempts per key (e.g. ``login:<client address>``) in its current time window (core/throttle.py)."""

    __tablename__ = "rate_counters"
    key: str = Field(max_length=200, primary_key=True)
    window_end: datetime = time_column(nullable=False, index=True)
    count: int = 0


# Indexes behind the console's ticket list (core/search.py): every filter combined with
# keyset paging on the ticket number walks an index instead of sorting a million rows.
_t = table_of(Ticket).c
sa.Index("ix_tickets_grid_id_id", _t.grid_id, _t.id)
sa.Index("ix_tickets_state_id", _t.state, _t.id)
sa.Index("ix_tickets_category_id", _t.category, _t.id)
sa.Index("ix_tickets_created_at_id", _t.created_at, _t.id)
sa.Index("ix_tickets_updated_at_id", _t.updated_at, _t.id)
sa.Index("ix_tickets_resolve_due_at_id", _t.resolve_due_at, _t.id)
# Satisfaction statistics read the survey events without scanning the whole trail.
sa.Index("ix_ticket_events_kind_ticket", table_of(TicketEvent).c.kind, table_of(TicketEvent).c.ticket_id)
# Substring search (LIKE '%…%') on PostgreSQL uses a trigram index when pg_trgm can be installed.
sa.Index("ix_tickets_text_trgm", _t.text, postgresql_using="gin",
         postgresql_ops={"text": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
