"""Open311 GeoReport v2 (JSON), so existing Open311 clients can read and file requests.

- services: one per request category; service_code is the taxonomy code, service_name its Chinese name;
- requests: tickets; status is ``open`` for open states and ``closed`` otherwise, with the
  state's Chinese label (and the last note) in status_notes;
- GET requests need an ``api_key`` (residents' words are not public), as POST does; the key
  is a console API token and its grid scope applies. Errors are Open311's list of
  ``{"code", "description"}``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, select

from bots.api.common import FilingError, file_ticket, iso, scope_for_token
from core import db, search, tickets
from core.models import Ticket, TicketEvent, utcnow
from core.search import BadQuery, TicketFilter
from core.taxonomy import REQUEST_CATEGORIES, Category
from core.ticket_states import TicketState

DEFAULT_WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": status, "description": description}], status_code=status)


def service_of(category: Category) -> dict:
    return {
        "service_code": category.value, "service_name": category.label,
        "description": f"{category.label}（{category.value}）", "metadata": False, "type": "realtime",
        "keywords": category.value, "group": category.label,
    }


def status_notes(ticket: Ticket, last_note: str | None) -> str:
    state = TicketState(ticket.state)
    return f"{state.label}：{last_note}" if last_note else state.label


def request_of(ticket: Ticket, last_note: str | None = None) -> dict:
    """A ticket in GeoReport v2's service request fields."""
    return {
        "service_request_id": str(ticket.id),
        "status": "open" if TicketState(ticket.state).is_open else "closed",
        "status_notes": status_notes(ticket, last_note),
        "service_name": ticket.category.label,
        "service_code": ticket.category.value,
        "description": ticket.text,
        "agency_responsible": ticket.department,
        "service_notice": None,
        "requested_datetime": iso(ticket.created_at),
        "updated_datetime": iso(ticket.updated_at),
        "expected_datetime": iso(ticket.resolve_due_at),
        "address": ticket.location,
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


def _last_notes(session: Session, ids: list[int]) -> dict[int, str]:
    """The latest non-empty note of a state change per ticket (the reason, the result)."""
    if not ids:
        return {}
    rows = session.exec(
        select(TicketEvent.ticket_id, TicketEvent.note).where(
            TicketEvent.ticket_id.in_(ids), TicketEvent.to_state.is_not(None), TicketEvent.note != "",
            TicketEvent.kind != "created",
        ).order_by(TicketEvent.id)
    )
    return {tid: note for tid, note in rows}


def _parse_dt(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} must be ISO 8601 with a time zone, e.g. 2026-03-01T00:00:00+08:00") from None
    if dt.tzinfo is None:
        raise Open311Error(400, f"{name} must include a time zone (Z or +08:00)")
    return dt


def router(runtime) -> APIRouter:
    r = APIRouter(prefix="/open311/v2", tags=["open311"])

    def key_of(request: Request, form: dict | None = None) -> str | None:
        key = (form or {}).get("api_key") or request.query_params.get("api_key")
        auth = request.headers.get("authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:]
        return key

    def scope(request: Request, need: str, form: dict | None = None, may: str | None = None):
        from fastapi import HTTPException

        with db.session_scope(runtime.engine) as s:
            try:
                return scope_for_token(s, key_of(request, form), need=need, may=may)
            except HTTPException as exc:
                raise Open311Error(exc.status_code, "api_key is missing or not valid" if exc.status_code == 401 else exc.detail) from None

    def guarded(handler):
        """Open311 clients expect errors as a JSON list of {code, description}."""
        import functools

        @functools.wraps(handler)
        async def wrapper(*args, **kwargs):
            try:
                return await handler(*args, **kwargs)
            except Open311Error as exc:
                return _error(exc.status, exc.description)

        return wrapper

    @r.get("/services.json", summary="Open311: the service types (our request categories)")
    def services() -> list[dict]:
        return [service_of(c) for c in REQUEST_CATEGORIES]

    @r.get("/services/{service_code}.json", summary="Open311: a service definition (no extra attributes)")
    def service_definition(service_code: str):
        if service_code not in {c.value for c in REQUEST_CATEGORIES}:
            return _error(404, f"no service {service_code!r}")
        return {"service_code": service_code, "attributes": []}

    @r.get("/requests.json", summary="Open311: service requests (needs api_key)")
    @guarded
    async def list_requests(request: Request):
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(_list, request)

    def _list(request: Request):
        viewer = scope(request, "read")
        p = request.query_params
        now = utcnow()
        ids = tuple(int(x) for x in (p.get("service_request_id") or "").split(",")
                    if x.strip().isdecimal() and int(x) <= tickets.MAX_NUMBER)
        codes = []
        for code in filter(None, (p.get("service_code") or "").split(",")):
            try:
                codes.append(Category(code.strip()))
            except ValueError:
                raise Open311Error(400, f"unknown service_code {code!r}; see services.json") from None
        start, end = _parse_dt(p.get("start_date"), "start_date"), _parse_dt(p.get("end_date"), "end_date")
        if not ids and start is None:
            start = (end or now) - DEFAULT_WINDOW
        status = p.get("status") or None
        if status not in (None, "open", "closed"):
            raise Open311Error(400, "status must be open or closed")
        flt = TicketFilter(ids=ids, categories=tuple(codes), status=status, created_from=start, created_to=end)
        with Session(runtime.engine) as s:
            try:
                page = search.search(s, flt, viewer, limit=MAX_REQUESTS, now=now)
            except BadQuery as exc:
                raise Open311Error(400, str(exc)) from None
            notes = _last_notes(s, [t.id for t in page.items])
            return [request_of(t, notes.get(t.id)) for t in page.items]

    @r.get("/requests/{service_request_id}.json", summary="Open311: one service request (needs api_key)")
    @guarded
    async def get_request(service_request_id: str, request: Request):
        from starlette.concurrency import run_in_threadpool

        def read():
            viewer = scope(request, "read")
            if not service_request_id.isdecimal() or int(service_request_id) > tickets.MAX_NUMBER:
                raise Open311Error(404, f"no service request {service_request_id!r}")
            with Session(runtime.engine) as s:
                t = s.get(Ticket, int(service_request_id))
                if t is None or not search.visible(viewer, t):
                    raise Open311Error(404, f"no service request {service_request_id!r}")
                return [request_of(t, _last_notes(s, [t.id]).get(t.id))]

        return await run_in_threadpool(read)

    @r.post("/requests.json", summary="Open311: file a service request (form-encoded, needs api_key with write)")
    @guarded
    async def create_request(request: Request):
        from starlette.concurrency import run_in_threadpool

        form = {k: str(v) for k, v in (await request.form()).items()}

        def create():
            viewer = scope(request, "write", form, may="file")
            code = form.get("service_code", "").strip()
            try:
                category = Category(code)
            except ValueError:
                raise Open311Error(400, f"service_code {code!r} is not one of services.json") from None
            if category is Category.CHATTER:
                raise Open311Error(400, "service_code chatter is not a service")
            address = form.get("address_string", "").strip() or None
            has_point = form.get("lat") and form.get("long")
            if not (address or has_point or form.get("address_id")):
                raise Open311Error(400, "a location is required: address_string, or lat and long")
            description = form.get("description", "").strip()
            if not description:
                raise Open311Error(400, "description is required")
            who = " ".join(x for x in (form.get("last_name", "").strip(), form.get("first_name", "").strip()) if x)
            phone = form.get("phone", "").strip()
            on_behalf = " ".join(x for x in (who, phone) if x) or None
            location = address or f"{form.get('lat')},{form.get('long')}"
            try:
                with db.session_scope(runtime.engine) as s:
                    t = file_ticket(runtime, s, viewer, text=description, category=category, location=location,
                                    on_behalf_of=on_behalf, via="open311")
                    number = t.id
            except FilingError as exc:
                raise Open311Error(400, str(exc)) from None
            runtime.changed.set()
            return [{"service_request_id": str(number), "service_notice": None, "account_id": None}]

        return await run_in_threadpool(create)

    return r
