"""What the REST API and Open311 share: token authentication and filing a ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import HTTPException
from sqlmodel import Session

from adapters.base import ChannelAdapter, Delivered
from core import accounts, tickets
from core.classify import classify
from core.grids import ancestors, grid_by_alias
from core.message import MAX_TEXT_CHARS, OutgoingReply
from core.models import Grid, Ticket, utcnow
from core.taxonomy import Category, Urgency
from core.ticket_states import TicketState


def scope_for_token(session: Session, token: str | None, *, need: str = "read",
                    may: Literal["file", "act"] | None = None) -> accounts.Scope:
    """The scope of an API token; 401 when missing or unknown, 403 when it lacks ``need``, or when
    its account's role may not do what the console would refuse it too: ``may="file"`` (file a
    ticket, as the console's relay page: admins, grid workers, care centres) or ``may="act"``
    (act on or comment on tickets: admins and grid workers)."""
    found = accounts.account_for_token(session, token)
    if found is None:
        raise HTTPException(401, "an API token is required: create one in the console (API 令牌) and send "
                                 "'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
    account, scopes = found
    try:
        scope = accounts.scope_for(session, account, scopes)
    except accounts.AccountError as exc:
        raise HTTPException(403, str(exc)) from None
    if need not in scopes:
        raise HTTPException(403, f"this token has scopes {', '.join(sorted(scopes))}; this call needs '{need}'")
    if may == "file" and not scope.can_relay:
        raise HTTPException(403, f"a {scope.role.value}'s account may not file tickets; "
                                 "admins, grid workers and care centres may (as in the console)")
    if may == "act" and not scope.can_act:
        raise HTTPException(403, f"a {scope.role.value}'s account may not act on or comment on tickets; "
                                 "admins and grid workers may (as in the console)")
    return scope


API_PLATFORM = "api"
MAX_FIELD_CHARS = 200  # a location or the name of the person a ticket is filed for


class RecordOnlyAdapter(ChannelAdapter):
    """Where announcements to API callers go: nowhere but the record.

    A ticket filed through the API has the caller as its reporter in the pseudo chat
    ``api:<via>-<username>``; the bot's announcements to it are marked sent, so the ticket
    page shows them and callers read the state through the API instead.
    """

    platform = API_PLATFORM

    async def deliver(self, reply: OutgoingReply) -> Delivered:
        return Delivered(None)


class FilingError(ValueError):
    """A ticket cannot be filed as asked; the message says what to change."""


def file_ticket(
    runtime, session: Session, scope: accounts.Scope, *, text: str, category: Category | None = None,
    urgency: Urgency | None = None, grid_id: str | None = None, location: str | None = None,
    on_behalf_of: str | None = None, via: str = "api", now: datetime | None = None,
) -> Ticket:
    """Register a ticket that did not come from a chat (the REST API, Open311).

    The classifier fills in what the caller leaves out; the grid is the one named, else the
    one the location names (an alias such as 幸福小区; the caller's own grid when it lies inside
    that one), else the caller's own. Deadlines come
    from the SLA policies, the department from the routing table, as for chat tickets.
    """
    text = (text or "").strip()
    if not text:
        raise FilingError("description/text must not be empty")
    if len(text) > MAX_TEXT_CHARS:
        raise FilingError(f"description/text is {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
    for name, value in (("location", location), ("on_behalf_of", on_behalf_of)):
        if value is not None and len(value) > MAX_FIELD_CHARS:
            raise FilingError(f"{name} is {len(value)} characters; the limit is {MAX_FIELD_CHARS}")
    now = now or utcnow()
    if grid_id is None and location:
        found = grid_by_alias(session, location)
        grid_id = found.id if found else None
        if found and not scope.sees_grid(found.id) and any(g.id == found.id for g in ancestors(session, scope.grid_id)):
            grid_id = scope.grid_id  # a grid worker's own grid is the more precise place inside it
    grid_id = grid_id or scope.grid_id
    if grid_id is None or session.get(Grid, grid_id) is None:
        raise FilingError("name a grid (grid_id) or a location the grids file knows")
    if not scope.sees_grid(grid_id):
        raise FilingError(f"grid {grid_id!r} is outside this account's grids")
    guess = classify(text)
    category = category or (guess.category if guess.is_request else Category.OTHER)
    if category is Category.CHATTER:
        raise FilingError("chatter is not a request; choose a request category")
    urgency = urgency or guess.urgency
    confirm_due, resolve_due = runtime.sla.due_dates(category, urgency, now)
    state = TicketState.CONFIRMED if urgency is Urgency.EMERGENCY else TicketState.PENDING
    ticket = tickets.open_ticket(
        session, text=text, category=category, urgency=urgency, chat_key=f"{API_PLATFORM}:{via}-{scope.username}",
        reporter_key=scope.person_key, state=state, confidence=guess.confidence, grid_id=grid_id,
        origin_message_id=f"{via}-{now.timestamp():.6f}", location=location or guess.location, on_behalf_of=on_behalf_of,
        confirm_due_at=confirm_due, resolve_due_at=resolve_due, at=now,
    )
    actions = getattr(runtime.bot, "actions", None)
    if actions is not None:
        ticket.department = actions.route(session, ticket).department
    tickets.record(session, ticket, scope.person_key, "note", f"filed via {via} by {scope.username}", at=now, data={"via": via})
    return ticket
