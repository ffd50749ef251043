"""The ticket list (with filters, four-colour counts and CSV export) and one ticket's page with its actions."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from bots.api.rest import TicketNumber
from bots.console import auth
from bots.console.audit import audit_lines
from bots.console.colours import COLOURS, colour_counts
from bots.console.render import forbidden, grid_names, page
from bots.console.views import conversation, filter_from_query, grids_in_scope
from bots.deps import RuntimeDep, SessionDep, ViewerDep
from bots.photo_routes import ticket_photos
from bots.runtime import Runtime
from bots.ticket_view import CSV_COLUMNS, TicketView
from core import db, search, tickets
from core.db import pk
from core.grids import LEVEL_LABELS
from core.models import Person, Ticket, utcnow
from core.search import BadQuery, TicketFilter
from core.taxonomy import REQUEST_CATEGORIES, Urgency
from core.ticket_actions import TABLE, available
from core.ticket_states import TicketState

PAGE_SIZE = 50
router = APIRouter()


def offered(s: Session, ticket: Ticket, person: Person | None) -> list[str]:
    """The actions the signed-in person may do to the ticket now (core.ticket_actions.available, as in the chat and the API)."""
    return [a.name for a in available(s, ticket, person, desk=True)] if person is not None else []


def _action_labels() -> dict[str, str]:
    from bots.actions import ACTION_LABELS

    return ACTION_LABELS


def rows_of(s: Session, runtime: Runtime, items: list[Ticket]) -> list[dict]:
    """The list rows of these tickets (the same fields the live events send)."""
    now, names = utcnow(), grid_names(s)
    return [TicketView.of(t, now=now, actions=runtime.bot.actions, grid_names=names).row() for t in items]


@router.get("/tickets", response_class=HTMLResponse)
def ticket_list(request: Request, runtime: RuntimeDep, s: SessionDep, v: ViewerDep, cursor: str | None = None) -> HTMLResponse:
    now = utcnow()
    error = ""
    try:
        flt = filter_from_query(request.query_params)
        result = search.search(s, flt, v.scope, cursor=cursor, limit=PAGE_SIZE, now=now)
        total, capped = search.count(s, flt, v.scope, now=now)
    except BadQuery as exc:
        flt, result, total, capped, error = TicketFilter(), search.Page([], None), 0, False, str(exc)
    rows = rows_of(s, runtime, result.items)
    colour_total, colour_rows = colour_counts(s, v.scope, now, runtime.bot.actions)
    query = [(k, val) for k, val in request.query_params.multi_items() if k != "cursor"]
    return page(
        request, "tickets.html", v, rows=rows, flt=flt, total=total, capped=capped, error=error,
        next_url=f"?{urlencode(query + [('cursor', result.next_cursor)])}" if result.next_cursor else None,
        first_page=cursor is None, query=urlencode(query), params=request.query_params,
        grids=grids_in_scope(s, v.scope), categories=REQUEST_CATEGORIES, states=list(TicketState),
        urgencies=list(Urgency), sorts=search.SORTS, colours=COLOURS, colour_total=colour_total,
        colour_rows=colour_rows, level_labels={lv.value: label for lv, label in LEVEL_LABELS.items()},
        filtered=sum(1 for k, val in query if val and k != "sort"),
        live_ids=",".join(str(row["id"]) for row in rows), max_id=max([row["id"] for row in rows], default=0),
    )


@router.get("/tickets.csv")
def tickets_csv(request: Request, runtime: RuntimeDep, s: SessionDep, v: ViewerDep) -> StreamingResponse:
    try:
        flt = filter_from_query(request.query_params)
    except BadQuery as exc:
        raise HTTPException(400, str(exc)) from None
    names = grid_names(s)

    def rows() -> Iterator[str]:
        now = utcnow()
        yield "\ufeff"  # so spreadsheet programs read the Chinese as UTF-8
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(CSV_COLUMNS)
        with Session(runtime.engine) as s:  # the request's session is closed by the time this streams
            for t in search.iterate(s, flt, v.scope, now=now):
                writer.writerow(TicketView.of(t, now=now, actions=runtime.bot.actions, grid_names=names).csv_row())
                if buf.tell() > 64_000:
                    yield buf.getvalue()
                    buf.seek(0), buf.truncate()
        yield buf.getvalue()

    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="linli-tickets.csv"'})


@router.get("/tickets/{number}", response_class=HTMLResponse)
def ticket_page(request: Request, runtime: RuntimeDep, s: SessionDep, v: ViewerDep, number: TicketNumber, msg: str = "",
                ok: int = 0) -> HTMLResponse:
    ticket = s.get(Ticket, number)
    if ticket is None:
        return page(request, "error.html", v, status_code=404, title="没有这个诉求", message=f"没有编号为 #{number} 的诉求")
    if not search.visible(v.scope, ticket):
        return forbidden(request, v, f"#{number} 不在您负责的网格内")
    people = {p.key: p for p in s.exec(select(Person))}
    state = TicketState(ticket.state)
    return page(
        request, "ticket.html", v, t=ticket, row=rows_of(s, runtime, [ticket])[0], state=state,
        reporters=tickets.reporters(s, pk(ticket)), people=people,
        events=audit_lines(tickets.events(s, pk(ticket)), {k: p.name for k, p in people.items()}),
        lines=conversation(s, ticket), msg=msg, ok=ok,
        actions=offered(s, ticket, people.get(v.scope.person_key or "")) if v.scope.can_act else [],
        action_labels=_action_labels(), needs_note={a.name for a in TABLE if a.note},
        categories=REQUEST_CATEGORIES, urgencies=list(Urgency),
        master=s.get(Ticket, ticket.master_id) if ticket.master_id else None,
        photos=ticket_photos(s, pk(ticket)),
    )


@router.post("/tickets/{number}/action")
async def ticket_action(request: Request, runtime: RuntimeDep, v: ViewerDep, number: TicketNumber) -> Response:
    form = await request.form()
    return await run_in_threadpool(_act, runtime, v, number, dict(form))


def _act(runtime: Runtime, v: auth.Viewer, number: int, form: dict) -> Response:
    """Perform the form's action exactly as the chat command does, and announce it in the chat."""
    from bots.actions import ActionError
    from bots.replies import enqueue

    auth.check_token(v.csrf, form.get("csrf"))
    if not v.scope.can_act:
        raise HTTPException(403, "this account may not act on tickets")
    action = str(form.get("action", ""))
    into = str(form.get("into", "")).lstrip("#＃").strip()
    # the state the page showed: if someone else has moved the ticket since, the action is refused
    expected = next((st for st in TicketState if st.value == form.get("seen_state")), None)
    try:
        with db.session_scope(runtime.engine) as s:
            ticket = s.get(Ticket, number)
            if ticket is not None and not search.visible(v.scope, ticket):
                raise HTTPException(403, f"#{number} is outside your grids")
            person = s.exec(select(Person).where(Person.key == v.scope.person_key)).one()
            replies = runtime.bot.actions.perform(
                s, number, action, person, str(form.get("note", "")),
                into=int(into) if into.isdecimal() else None,
                category=form.get("category") or None, urgency=form.get("urgency") or None,
                department=form.get("department") or None, assignee=form.get("assignee") or None,
                expected=expected,
            )
            enqueue(s, replies, prefix=f"console:{secrets.token_hex(8)}")
    except ActionError as exc:
        return RedirectResponse(f"/console/tickets/{number}?{urlencode({'msg': str(exc)})}", status_code=303)
    runtime.changed.set()
    done = f"{_action_labels().get(action, action)}：已完成，并已在群里通知"
    return RedirectResponse(f"/console/tickets/{number}?{urlencode({'msg': done, 'ok': 1})}", status_code=303)
