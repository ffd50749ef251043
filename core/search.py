"""The ticket list query behind the console, the REST API, Open311 and the CSV export.

Filters combine freely; paging is by keyset (the last row's sort value and number), so
page 2,000 costs what page 1 costs even at a million tickets. The indexes it relies on are
declared in core/models/console.py.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from core import json_input
from core.accounts import Scope, subtree
from core.db import pk
from core.models import Ticket, open_states_clause, utcnow
from core.taxonomy import Category, Urgency
from core.ticket_states import TicketState
from core.tickets import MAX_NUMBER

SORTS = {
    "newest": "最新登记",
    "oldest": "最早登记",
    "due": "最先到期",
    "updated": "最近更新",
}
OPEN_STATES = tuple(s for s in TicketState if s.is_open)
MAX_PAGE = 1000


class BadQuery(ValueError):
    """A filter or cursor that cannot be used; the message names it."""


@dataclass(frozen=True)
class TicketFilter:
    """What to list. Empty fields do not filter."""

    states: tuple[TicketState, ...] = ()
    status: str | None = None  # "open" | "closed": the Open311 grouping of states
    categories: tuple[Category, ...] = ()
    grid_id: str | None = None  # this grid and every grid below it
    urgency: Urgency | None = None
    overdue: bool = False  # open and past the resolve deadline
    created_from: datetime | None = None
    created_to: datetime | None = None  # exclusive
    updated_from: datetime | None = None
    text: str = ""
    ids: tuple[int, ...] = ()
    sort: str = "newest"


@dataclass
class Page:
    items: list[Ticket]
    next_cursor: str | None
    filter: TicketFilter = field(default_factory=TicketFilter)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_NUMBER = re.compile(r"^\s*[#＃]?\s*(\d{1,12})\s*$")


def where_clauses(session: Session, flt: TicketFilter, scope: Scope | None, now: datetime) -> list[Any]:
    """SQL conditions for a filter inside a scope (None: no restriction, for trusted internal callers)."""
    if flt.sort not in SORTS:
        raise BadQuery(f"sort must be one of {', '.join(SORTS)}, got {flt.sort!r}")
    conds: list[Any] = []
    grid_ids = scope.grid_ids if scope is not None else None
    if flt.grid_id:
        wanted = subtree(session, flt.grid_id)
        grid_ids = wanted if grid_ids is None else grid_ids & wanted
    if grid_ids is not None:
        conds.append(col(Ticket.grid_id).in_(sorted(grid_ids)) if grid_ids else sa.false())
    if flt.status not in (None, "open", "closed"):
        raise BadQuery(f"status must be open or closed, got {flt.status!r}")
    # Open tickets are a few % of a large table: the literal open-states clause lets both
    # databases use the partial index ix_tickets_open_due instead of walking past every
    # finished ticket. SQLite needs the index's own predicate text in the query; PostgreSQL
    # proves it from a list of open states by itself, and given both lists it multiplies
    # their selectivities, guesses 200 rows out of 10,000 and sorts them all (12–90 ms at 1M).
    states_all_open = bool(flt.states) and all(s.is_open for s in flt.states)
    if (flt.status == "open" or flt.overdue or states_all_open) and not (
        states_all_open and session.get_bind().dialect.name == "postgresql"
    ):
        conds.append(open_states_clause())
    if flt.states:
        conds.append(col(Ticket.state).in_([s.value for s in flt.states]))
    if flt.status == "closed":
        conds.append(col(Ticket.state).not_in([s.value for s in OPEN_STATES]))
    if flt.categories:
        conds.append(col(Ticket.category).in_([c.value for c in flt.categories]))
    if flt.urgency is not None:
        conds.append(Ticket.urgency == flt.urgency)
    if flt.overdue:
        conds.append(col(Ticket.resolve_due_at) < now)
    if flt.created_from is not None:
        conds.append(Ticket.created_at >= flt.created_from)
    if flt.created_to is not None:
        conds.append(Ticket.created_at < flt.created_to)
    if flt.updated_from is not None:
        conds.append(Ticket.updated_at >= flt.updated_from)
    if flt.ids:
        conds.append(col(Ticket.id).in_(list(flt.ids)))
    text = flt.text.strip()
    if text:
        like = col(Ticket.text).like(f"%{_like_escape(text)}%", escape="\\")
        number = _NUMBER.match(text)
        if number is not None and int(number.group(1)) <= MAX_NUMBER:
            conds.append(sa.or_(col(Ticket.id) == int(number.group(1)), like))
        else:
            conds.append(like)
    return conds


# -- keyset paging -------------------------------------------------------------------------


def _encode(value: object, number: int) -> str:
    raw = json.dumps([value.isoformat() if isinstance(value, datetime) else value, number])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[object, int]:
    try:
        value, number = json_input.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not 0 <= int(number) <= MAX_NUMBER:
            raise ValueError("number out of range")
        return value, int(number)
    except (ValueError, TypeError) as exc:
        raise BadQuery("the page cursor is not valid; start again from the first page") from exc


def _order_and_after(sort: str, cursor: str | None) -> tuple[list[Any], list[Any]]:
    """ORDER BY terms and the keyset condition for rows after ``cursor``."""
    if sort == "newest":
        after = [] if cursor is None else [col(Ticket.id) < _decode(cursor)[1]]
        return [col(Ticket.id).desc()], after
    if sort == "oldest":
        after = [] if cursor is None else [col(Ticket.id) > _decode(cursor)[1]]
        return [col(Ticket.id).asc()], after
    if sort == "updated":
        order = [col(Ticket.updated_at).desc(), col(Ticket.id).desc()]
        if cursor is None:
            return order, []
        value, number = _decode(cursor)
        at = datetime.fromisoformat(str(value))
        return order, [_after(col(Ticket.updated_at), at, number, descending=True)]
    raise AssertionError(f"sort {sort!r} is paged by _due_page")


def _after(column: Mapped[datetime] | Mapped[datetime | None], at: datetime, number: int, *,
           descending: bool = False) -> sa.ColumnElement[bool]:
    """Rows after (``at``, ``number``) in (column, id) order. The plain bound on ``column``
    comes first so the index walk starts at the cursor (a bare OR made PostgreSQL read every
    earlier row: 10 ms a page at 1M tickets)."""
    if descending:
        return sa.and_(column <= at, sa.or_(column < at, col(Ticket.id) < number))
    return sa.and_(column >= at, sa.or_(column > at, col(Ticket.id) > number))


def _cursor_of(sort: str, ticket: Ticket) -> str:
    value = {"updated": ticket.updated_at, "due": ticket.resolve_due_at}.get(sort)
    return _encode(value, pk(ticket))


def search(
    session: Session, flt: TicketFilter, scope: Scope | None, *, cursor: str | None = None,
    limit: int = 50, now: datetime | None = None,
) -> Page:
    """One page of tickets matching ``flt`` inside ``scope``, and the cursor of the next page (None at the end)."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadQuery(f"limit must be between 1 and {MAX_PAGE}")
    now = now or utcnow()
    conds = where_clauses(session, flt, scope, now)
    if flt.sort == "due":
        rows = _due_rows(session, conds, cursor, limit + 1)
    else:
        order, after = _order_and_after(flt.sort, cursor)
        rows = list(session.exec(select(Ticket).where(*conds, *after).order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items, _cursor_of(flt.sort, items[-1]) if more and items else None, flt)


def _due_rows(session: Session, conds: list[Any], cursor: str | None, n: int) -> list[Ticket]:
    """Soonest deadline first, then tickets without one by number: two index walks, never a sort of every row."""
    value, number = _decode(cursor) if cursor is not None else (False, 0)
    rows: list[Ticket] = []
    if value is not None:  # still among the tickets with a deadline
        after = []
        if cursor is not None:
            at = datetime.fromisoformat(str(value))
            after = [_after(col(Ticket.resolve_due_at), at, number)]
        rows = list(session.exec(select(Ticket).where(*conds, col(Ticket.resolve_due_at).is_not(None), *after)
                                 .order_by(col(Ticket.resolve_due_at), col(Ticket.id)).limit(n)))
        number = 0
    if len(rows) < n:
        rows += list(session.exec(select(Ticket).where(*conds, col(Ticket.resolve_due_at).is_(None), col(Ticket.id) > number)
                                  .order_by(col(Ticket.id)).limit(n - len(rows))))
    return rows


def count(session: Session, flt: TicketFilter, scope: Scope | None, *, cap: int = 10_000, now: datetime | None = None) -> tuple[int, bool]:
    """How many tickets match, counting at most ``cap`` (so a count never scans a million rows). Returns (n, capped)."""
    now = now or utcnow()
    inner = select(Ticket.id).where(*where_clauses(session, flt, scope, now)).limit(cap + 1).subquery()
    n = session.exec(select(sa.func.count()).select_from(inner)).one()
    return min(n, cap), n > cap


def iterate(session: Session, flt: TicketFilter, scope: Scope | None, *, batch: int = 500, now: datetime | None = None) -> Iterator[Ticket]:
    """Every matching ticket, page by page (for CSV export), in the filter's order."""
    cursor = None
    while True:
        page = search(session, flt, scope, cursor=cursor, limit=batch, now=now)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
        session.expunge_all()


def visible(scope: Scope, ticket: Ticket) -> bool:
    """May this scope see this ticket? (A grid worker opening another grid's ticket gets a 403.)"""
    return scope.sees_grid(ticket.grid_id)
