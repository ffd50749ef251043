"""One ticket as the web shows it: :class:`TicketView`.

Built once per ticket by :meth:`TicketView.of`; the REST API answers with it (its JSON schema
is the API's ``TicketView``), the console's list and live updates draw :meth:`TicketView.row`,
the CSV export writes :meth:`TicketView.csv_row`, and Open311 maps it to GeoReport fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, PlainSerializer

from bots.console.audit import level_label
from bots.console.colours import LABELS as COLOUR_LABELS
from bots.console.colours import colour_of
from core.models import Ticket
from core.taxonomy import Category, Urgency
from core.ticket_states import TicketState
from core.timefmt import local


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 with the local offset (e.g. 2026-03-02T10:00:00+08:00), as Open311 requires."""
    return local(dt).isoformat(timespec="seconds") if dt else None


LocalTime = Annotated[datetime | None, PlainSerializer(iso, return_type=str | None)]
Colour = Literal["green", "blue", "yellow", "red", "done"]
CSV_COLUMNS = ["number", "state", "state_label", "colour", "category", "category_label", "urgency", "grid",
               "text", "on_behalf_of", "location", "department", "assignee", "created_at", "confirmed_at",
               "resolve_due_at", "resolved_at", "closed_at"]


class TicketView(BaseModel):
    """A ticket with its labels, its four-colour status and its grid's name; times in local ISO 8601."""

    number: int
    state: TicketState
    state_label: str
    open: bool
    colour: Colour
    colour_label: str
    category: Category
    category_label: str
    urgency: Urgency
    urgency_label: str
    grid_id: str | None
    grid_name: str | None
    text: str
    location: str | None
    on_behalf_of: str | None
    department: str | None
    assignee: str | None
    master_id: int | None
    escalation_level: str | None
    escalation_label: str | None
    created_at: LocalTime
    updated_at: LocalTime
    confirm_due_at: LocalTime
    resolve_due_at: LocalTime
    confirmed_at: LocalTime
    resolved_at: LocalTime
    closed_at: LocalTime

    @classmethod
    def of(cls, t: Ticket, *, now: datetime, actions: Any, grid_names: dict[str, str]) -> TicketView:
        """``actions``: runtime.bot.actions (the SLA policy behind the colour); ``grid_names``: grid id → name."""
        state, colour = TicketState(t.state), colour_of(t, now, actions)
        return cls(
            number=t.id, state=state, state_label=state.label, open=state.is_open, colour=colour,
            colour_label=COLOUR_LABELS[colour], category=t.category, category_label=t.category.label, urgency=t.urgency,
            urgency_label=t.urgency.label, grid_id=t.grid_id, grid_name=grid_names.get(t.grid_id or ""), text=t.text,
            location=t.location, on_behalf_of=t.on_behalf_of, department=t.department, assignee=t.assignee,
            master_id=t.master_id, escalation_level=t.escalation_level,
            escalation_label=level_label(t.escalation_level) if t.escalation_level else None,
            created_at=t.created_at, updated_at=t.updated_at, confirm_due_at=t.confirm_due_at,
            resolve_due_at=t.resolve_due_at, confirmed_at=t.confirmed_at, resolved_at=t.resolved_at, closed_at=t.closed_at,
        )

    def row(self) -> dict[str, Any]:
        """The console's ticket-list row, as the page draws it and the live events send it."""
        return {
            "id": self.number, "state": self.state.value, "state_label": self.state_label, "colour": self.colour,
            "colour_label": self.colour_label, "category": self.category_label, "urgency": self.urgency.value,
            "urgency_label": self.urgency_label, "grid": self.grid_name or "—", "text": self.text[:80],
            "created": local(self.created_at).strftime("%Y-%m-%d %H:%M") if self.created_at else "—",
            "due": local(self.resolve_due_at).strftime("%m-%d %H:%M") if self.resolve_due_at else "—",
            "escalation": self.escalation_label or "",
        }

    def csv_row(self) -> list[Any]:
        """The CSV export's cells, in :data:`CSV_COLUMNS` order; residents' words never run as a formula."""
        return [self.number, self.state.value, self.state_label, self.colour, self.category.value, self.category_label,
                self.urgency.value, self.grid_name or self.grid_id or "", _cell(self.text), _cell(self.on_behalf_of),
                _cell(self.location), _cell(self.department), _cell(self.assignee), iso(self.created_at) or "",
                iso(self.confirmed_at) or "", iso(self.resolve_due_at) or "", iso(self.resolved_at) or "",
                iso(self.closed_at) or ""]


def _cell(text: str | None) -> str:
    """A spreadsheet cell: text starting like a formula gets a leading quote (CSV injection)."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
