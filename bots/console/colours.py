"""Four-colour status (四色预警) as the console and the API show it.

The colour itself is the ticket loop's (core.deadlines.colour, from the SLA policy's reminder
and warning shares of the current deadline round); this module only adds ``done`` for finished
tickets and the labels the console shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from core.accounts import Scope
from core.deadlines import colour
from core.grids import LEVEL_ORDER, Level
from core.models import Grid, Ticket
from core.search import OPEN_STATES, TicketFilter, where_clauses
from core.ticket_states import TicketState

LABELS = {"green": "正常", "blue": "已提醒", "yellow": "黄灯催办", "red": "红灯督办", "done": "已结束"}


def colour_of(ticket: Ticket, now: datetime, actions) -> str:
    """green / blue / yellow / red for an open ticket, ``done`` for a finished one (``actions``: runtime.bot.actions).
    ``ticket`` may be any row with its state, category, urgency, created_at and resolve_due_at."""
    if not TicketState(ticket.state).is_open:
        return "done"
    sla = actions.sla
    return colour(actions.round_start(ticket), ticket.resolve_due_at, now, remind_at=sla.remind_at, warn_at=sla.warn_at).value


COLOURS = ("green", "blue", "yellow", "red")


@dataclass
class ColourRow:
    """Open tickets by colour for one grid (or the viewer's whole scope: ``grid_id`` None)."""

    grid_id: str | None
    name: str
    level: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLOURS, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def breakdown_levels(home: Level | None) -> list[Level]:
    """The levels a viewer at ``home`` sees counts for: each level below theirs down to communities
    (a community sees its grids; a grid worker of a grid only the total)."""
    if home is None:
        home = Level.DISTRICT
    below = LEVEL_ORDER[LEVEL_ORDER.index(home) + 1:]
    return [lv for lv in below if lv is not Level.GRID] or below


def colour_counts(session: Session, scope: Scope, now: datetime, actions) -> tuple[ColourRow, list[ColourRow]]:
    """Open tickets in the viewer's scope by colour: the total and one row per grid of the levels below theirs."""
    grids = {g.id: g for g in session.exec(select(Grid))}
    home = grids.get(scope.grid_id or "")
    levels = breakdown_levels(Level(home.level) if home and scope.grid_ids is not None else None)
    rows = {g.id: ColourRow(g.id, g.name, g.level) for g in grids.values()
            if scope.sees_grid(g.id) and g.id != (home.id if home else None) and Level(g.level) in levels}
    total = ColourRow(None, "合计")
    conds = where_clauses(session, TicketFilter(states=OPEN_STATES), scope, now)
    # Only the columns the colour depends on (whole rows cost several times more at a district's scale).
    columns = (Ticket.state, Ticket.grid_id, Ticket.category, Ticket.urgency, Ticket.created_at, Ticket.resolve_due_at)
    for ticket in session.exec(select(*columns).where(*conds)):
        c = colour_of(ticket, now, actions)
        if c not in total.counts:
            continue
        total.counts[c] += 1
        gid = ticket.grid_id
        while gid is not None and gid in grids:  # count it for each row above its grid
            if gid in rows:
                rows[gid].counts[c] += 1
            gid = grids[gid].parent_id
    order = {lv: i for i, lv in enumerate(LEVEL_ORDER)}

    def place(row: ColourRow) -> tuple:
        path, gid = [], row.grid_id
        while gid is not None and gid in grids:
            path.append(gid)
            gid = grids[gid].parent_id
        return tuple(reversed(path)), order[Level(row.level)]

    return total, sorted(rows.values(), key=place)
