"""Four-colour status (四色预警) as the console and the API show it.

The colour itself is the ticket loop's (core.deadlines.colour, from the SLA policy's reminder
and warning shares of the current deadline round); this module only adds ``done`` for finished
tickets and the labels the console shows.
"""

from __future__ import annotations

from datetime import datetime

from core.deadlines import colour
from core.models import Ticket
from core.ticket_states import TicketState

LABELS = {"green": "正常", "blue": "已提醒", "yellow": "黄灯催办", "red": "红灯督办", "done": "已结束"}


def colour_of(ticket: Ticket, now: datetime, actions) -> str:
    """green / blue / yellow / red for an open ticket, ``done`` for a finished one (``actions``: runtime.bot.actions)."""
    if not TicketState(ticket.state).is_open:
        return "done"
    sla = actions.sla
    return colour(actions.round_start(ticket), ticket.resolve_due_at, now, remind_at=sla.remind_at, warn_at=sla.warn_at).value
