"""The JSON API under /api: tickets, statistics, grids. Every call needs a bearer token (see the console's API 令牌)."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from bots.api.common import MAX_FIELD_CHARS, FilingError, file_ticket
from bots.console.views import date_range
from bots.deps import Actor, Filer, Reader, RuntimeDep, SessionDep
from bots.runtime import Runtime
from bots.ticket_view import TicketView, iso
from core import accounts, db, search, stats, tickets
from core.grids import Level
from core.message import MAX_TEXT_CHARS
from core.models import Grid, Person, Ticket, utcnow
from core.search import BadQuery, TicketFilter
from core.taxonomy import Category, Urgency
from core.ticket_actions import DESK_ACTIONS, available
from core.ticket_states import TicketState

TicketNumber = Annotated[int, Path(ge=1, le=tickets.MAX_NUMBER, description="the ticket's number (#12 → 12)")]


def _created_range(created_from: date | None, created_to: date | None) -> tuple[datetime | None, datetime | None]:
    try:
        return date_range(created_from.isoformat() if created_from else None, created_to.isoformat() if created_to else None)
    except BadQuery as exc:
        raise HTTPException(400, str(exc)) from None


class ReporterOut(BaseModel):
    person_key: str
    name: str
    chat_key: str
    joined_at: str


class Refusal(BaseModel):
    """Why an action changed nothing, with the ticket's state as it is now."""

    detail: str
    code: str = Field(description="the refusal's template name: ticket_taken when another actor moved the ticket "
                                  "first, illegal_move when its state does not allow the action, …")
    number: int
    state: TicketState
    state_label: str
    available: list[str] = Field(default_factory=list, description="the actions you may do to the ticket now")


class EventOut(BaseModel):
    at: str
    actor: str
    kind: str
    from_state: str | None
    to_state: str | None
    note: str
    data: dict


class TicketDetail(TicketView):
    reporters: list[ReporterOut]
    events: list[EventOut]


class TicketPage(BaseModel):
    items: list[TicketView]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class NewTicket(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="what the resident needs")
    category: Category | None = Field(None, description="taxonomy code; the classifier decides when omitted")
    urgency: Urgency | None = None
    grid_id: str | None = Field(None, description="default: the grid the location names, else the token owner's grid")
    location: str | None = Field(None, max_length=MAX_FIELD_CHARS)
    on_behalf_of: str | None = Field(None, max_length=MAX_FIELD_CHARS, description="the resident this is filed for")


DeskAction = Literal[DESK_ACTIONS]  # type: ignore[valid-type]  # the actions of core.ticket_actions the API offers


class Transition(BaseModel):
    action: DeskAction
    note: str = Field("", max_length=2000, description="reason (reject), result (resolve), progress text…")
    into: int | None = Field(None, ge=1, le=tickets.MAX_NUMBER, description="merge: the ticket to merge into")
    category: Category | None = Field(None, description="reclassify: the new category")
    urgency: Urgency | None = Field(None, description="urgency: the new level")
    department: str | None = Field(None, description="assign: the department (empty: the routing table's)")
    assignee: str | None = Field(None, description="assign: a person key or name")
    expected_state: TicketState | None = Field(
        None, description="the state you acted on (as last read); if another actor has moved the ticket since, "
                          "nothing changes and the answer is 409 with code ticket_taken and the current state")


class Comment(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    announce: bool = Field(False, description="true: post it to the reporters' chats as progress (进展); "
                                              "false: an internal note on the trail only")


class GridOut(BaseModel):
    id: str
    name: str
    level: str
    parent_id: str | None


router = APIRouter(prefix="/api", tags=["api"])


def grid_names(s: Session) -> dict[str, str]:
    return {g.id: g.name for g in s.exec(select(Grid))}


def detail(runtime: Runtime, s: Session, t: Ticket) -> dict:
    names = {p.key: p.name for p in s.exec(select(Person))}
    view = TicketView.of(t, now=utcnow(), actions=runtime.bot.actions, grid_names=grid_names(s))
    return {
        **dict(view),
        "reporters": [{"person_key": rp.person_key, "name": names.get(rp.person_key, ""), "chat_key": rp.chat_key,
                       "joined_at": iso(rp.joined_at)} for rp in tickets.reporters(s, db.pk(t))],
        "events": [{"at": iso(e.created_at), "actor": e.actor, "kind": e.kind, "from_state": e.from_state,
                    "to_state": e.to_state, "note": e.note, "data": e.data} for e in tickets.events(s, db.pk(t))],
    }


def visible_ticket(s: Session, scope: accounts.Scope, number: int) -> Ticket:
    t = s.get(Ticket, number)
    if t is None:
        raise HTTPException(404, f"no ticket #{number}")
    if not search.visible(scope, t):
        raise HTTPException(403, f"ticket #{number} is outside this token's grids")
    return t


@router.get("/tickets", response_model=TicketPage, summary="List and filter tickets (keyset paging)")
def list_tickets(
    runtime: RuntimeDep,
    s: SessionDep,
    scope: Reader,
    state: Annotated[list[TicketState], Query()] = [],  # noqa: B006 - FastAPI query lists
    status: Literal["open", "closed"] | None = None,
    category: Annotated[list[Category], Query()] = [],  # noqa: B006
    grid: str | None = Query(None, description="this grid and every grid below it"),
    urgency: Urgency | None = None,
    overdue: bool = False,
    created_from: date | None = Query(None, description="local calendar day, inclusive"),
    created_to: date | None = Query(None, description="local calendar day, inclusive"),
    q: str = Query("", max_length=200, description="text search, or #number"),
    sort: Literal["newest", "oldest", "due", "updated"] = "newest",
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=search.MAX_PAGE),
) -> dict:
    start, end = _created_range(created_from, created_to)
    flt = TicketFilter(states=tuple(state), status=status, categories=tuple(category), grid_id=grid, urgency=urgency,
                       overdue=overdue, created_from=start, created_to=end, text=q, sort=sort)
    now = utcnow()
    try:
        page = search.search(s, flt, scope, cursor=cursor, limit=limit, now=now)
    except BadQuery as exc:
        raise HTTPException(400, str(exc)) from None
    names = grid_names(s)
    return {"items": [TicketView.of(t, now=now, actions=runtime.bot.actions, grid_names=names) for t in page.items],
            "next_cursor": page.next_cursor}


@router.get("/tickets/{number}", response_model=TicketDetail, summary="One ticket with its reporters and audit trail")
def get_ticket(runtime: RuntimeDep, s: SessionDep, number: TicketNumber, scope: Reader) -> dict:
    return detail(runtime, s, visible_ticket(s, scope, number))


@router.post("/tickets", response_model=TicketDetail, status_code=201, summary="File a ticket (needs write)")
def create_ticket(runtime: RuntimeDep, body: NewTicket, scope: Filer) -> dict:
    try:
        with db.session_scope(runtime.engine) as s:
            t = file_ticket(runtime, s, scope, text=body.text, category=body.category, urgency=body.urgency,
                            grid_id=body.grid_id, location=body.location, on_behalf_of=body.on_behalf_of, via="api")
            out = detail(runtime, s, t)
    except FilingError as exc:
        raise HTTPException(400, str(exc)) from None
    runtime.changed.set()
    return out


@router.post("/tickets/{number}/transition", response_model=TicketDetail,
                summary="Act on a ticket exactly as the chat command does (needs write); announced in the chat",
                responses={409: {"model": Refusal, "description": "refused by the ticket's state, or another actor "
                                 "moved the ticket first (code ticket_taken); nothing changed; lists the actions available now"}})
def transition(runtime: RuntimeDep, number: TicketNumber, body: Transition, scope: Actor) -> dict | JSONResponse:
    from bots.actions import ActionError, NotAllowed, UnknownTicket
    from bots.replies import enqueue

    try:
        with db.session_scope(runtime.engine) as s:
            visible_ticket(s, scope, number)
            person = s.exec(select(Person).where(Person.key == scope.person_key)).one()
            replies = runtime.bot.actions.perform(
                s, number, body.action, person, body.note, into=body.into, category=body.category,
                urgency=body.urgency, department=body.department, assignee=body.assignee,
                expected=body.expected_state,
            )
            enqueue(s, replies, prefix=f"api:{secrets.token_hex(8)}")
            out = detail(runtime, s, s.get_one(Ticket, number))
    except UnknownTicket as exc:
        raise HTTPException(404, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except ActionError as exc:
        with Session(runtime.engine) as s:
            ticket = s.get_one(Ticket, number)
            person = s.exec(select(Person).where(Person.key == scope.person_key)).one()
            offered = [a.name for a in available(s, ticket, person, desk=True)]
            state = TicketState(ticket.state)
        return JSONResponse(status_code=409, content=Refusal(
            detail=str(exc), code=exc.template, number=number, state=state, state_label=state.label,
            available=offered).model_dump())
    runtime.changed.set()
    return out


@router.post("/tickets/{number}/comments", response_model=TicketDetail, status_code=201,
                summary="Add a note to the trail, or announce progress in the chat (needs write)")
def comment(runtime: RuntimeDep, number: TicketNumber, body: Comment, scope: Actor) -> dict | JSONResponse:
    if body.announce:
        return transition(runtime, number, Transition(action="progress", note=body.text), scope)
    with db.session_scope(runtime.engine) as s:
        t = visible_ticket(s, scope, number)
        tickets.record(s, t, scope.person_key, "comment", body.text, data={"via": "api"})
        return detail(runtime, s, t)


@router.get("/stats", summary="Statistics: received, confirmed, resolved, closed, 办结率, on-time rate, medians, satisfaction")
def get_stats(
    s: SessionDep,
    scope: Reader,
    by: Literal["total", "category", "grid", "day", "week", "month"] = "category",
    level: Literal["street", "community", "grid"] = "community",
    grid: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
) -> dict:
    start, end = _created_range(created_from, created_to)
    rep = stats.report(s, scope, dimension=by, start=start, end=end, grid_level=Level(level),
                       flt=TicketFilter(grid_id=grid), now=utcnow())
    return {"by": rep.dimension, "from": iso(start), "to": iso(end), "total": rep.total.as_dict(),
            "rows": [row.as_dict() for row in rep.rows]}


@router.get("/grids", response_model=list[GridOut], summary="The grids this token may see")
def grids(s: SessionDep, scope: Reader) -> list[dict]:
    return [{"id": g.id, "name": g.name, "level": g.level, "parent_id": g.parent_id}
            for g in s.exec(select(Grid).order_by(Grid.id)) if scope.sees_grid(g.id)]


@router.get("/me", summary="Who this token belongs to, and what it may do")
def me(scope: Reader) -> dict:
    return {"username": scope.username, "person_key": scope.person_key, "name": scope.person_name,
            "role": scope.role.value, "grid_id": scope.grid_id, "scopes": sorted(scope.scopes)}
