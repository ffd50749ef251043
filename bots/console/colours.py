"""Four-colour status (四色预警) as the console and the API show it.

PLACEHOLDER until the ticket loop's colour function lands (issue 6): then this module only
maps its result to labels and CSS classes.
"""

from __future__ import annotations

from datetime import datetime

from core.models import Ticket
from core.ticket_states import TicketState

LABELS = {"green": "正常", "blue": "已提醒", "yellow": "黄灯催办", "red": "红灯督办", "done": "已结束"}


def colour_of(ticket: Ticket, now: datetime) -> str:
    """green / blue / yellow / red for an open ticket, ``done`` for a finished one."""
    if not TicketState(ticket.state).is_open:
        return "done"
    due = ticket.resolve_due_at
    if due is None:
        return "green"
    if now >= due:
        return "red"
    window = (due - ticket.created_at).total_seconds() or 1
    used = (now - ticket.created_at).total_seconds() / window
    return "yellow" if used >= 0.75 else "blue" if used >= 0.5 else "green"
