"""Open311 GeoReport v2 (XML and JSON), so existing Open311 clients can read and file requests.

- services: one per request category; service_code is the taxonomy code, service_name its Chinese name;
- requests: tickets; status is ``open`` for open states and ``closed`` otherwise, with the
  state's Chinese label (and the last note) in status_notes;
- every endpoint answers in the format its name ends with (``.xml``, the spec's required one,
  or ``.json``), errors included (``<errors><error><code/><description/>``);
- GET requests need an ``api_key`` (a console API token; its grid scope applies) unless
  LINLI_OPEN311_PUBLIC is on: then anyone reads confirmed requests in their public form
  (:func:`public_request_of`). POST always needs a key with ``write``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from bots.api.common import FilingError, file_ticket, scope_for_token
from bots.api.georeport_xml import render
from bots.deps import RuntimeDep
from bots.runtime import Runtime
from bots.ticket_view import iso
from core import db, search, tickets
from core.accounts import Scope
from core.grids import ancestors
from core.masking import anonymise
from core.models import Ticket, TicketEvent, utcnow
from core.search import BadQuery, TicketFilter
from core.taxonomy import REQUEST_CATEGORIES, Category
from core.ticket_states import TicketState

DEFAULT_WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
FORMATS = ("xml", "json")
CHANGESET = "2026-12-02T00:00:00+08:00"  # when this endpoint's behaviour last changed (discovery)
# What the public sees: requests a worker has taken on, not unverified drafts, rejections or withdrawals.
PUBLIC_STATES = tuple(s for s in TicketState if s not in (TicketState.PENDING, TicketState.REJECTED, TicketState.WITHDRAWN))


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def answer(fmt: str, root: str, document: object, status: int = 200) -> Response:
    """``document`` as JSON, or as the spec's XML under the element ``root``."""
    if fmt == "xml":
        return Response(render(root, document), status_code=status, media_type="text/xml; charset=utf-8")
    return JSONResponse(document, status_code=status)


def _error(status: int, description: str, fmt: str = "json") -> Response:
    return answer(fmt, "errors", [{"code": status, "description": description}], status)


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


def coarse_place(session: Session, grid_id: str | None) -> str | None:
    """Where a ticket is, no finer than its community: 「和平街道幸福社区」, never the building or room."""
    chain = ancestors(session, grid_id)
    levels = [g.level for g in chain]
    start = levels.index("community") if "community" in levels else 0
    names = [g.name for g in reversed(chain[start:start + 2]) if g.level != "district"]
    return "".join(names) or None


def public_request_of(ticket: Ticket, place: str | None) -> dict:
    """A ticket as anyone may read it: no phone or ID numbers and no names in the description, no notes (they name people),
    the community instead of the address, and no reporter."""
    return {**request_of(ticket), "status_notes": TicketState(ticket.state).label,
            "description": anonymise(ticket.text), "address": place}


def _last_notes(session: Session, ids: list[int]) -> dict[int, str]:
    """The latest non-empty note of a state change per ticket (the reason, the result)."""
    if not ids:
        return {}
    rows = session.exec(
        select(TicketEvent.ticket_id, TicketEvent.note).where(
            col(TicketEvent.ticket_id).in_(ids), col(TicketEvent.to_state).is_not(None), TicketEvent.note != "",
            TicketEvent.kind != "created",
        ).order_by(col(TicketEvent.id))
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




def key_of(request: Request, form: dict | None = None) -> str | None:
    """The API token: the ``api_key`` field or parameter, or a bearer token."""
    key = (form or {}).get("api_key") or request.query_params.get("api_key")
    auth = request.headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:]
    return key


def scope(runtime: Runtime, request: Request, need: str, form: dict | None = None,
          may: Literal["file", "act"] | None = None) -> Scope:
    """The key's scope, as an Open311 error when it is missing, unknown or not enough."""
    with db.session_scope(runtime.engine) as s:
        try:
            return scope_for_token(s, key_of(request, form), need=need, may=may)
        except HTTPException as exc:
            raise Open311Error(exc.status_code, "api_key is missing or not valid" if exc.status_code == 401 else exc.detail) from None


def reader(runtime: Runtime, request: Request) -> Scope | None:
    """The key's scope, or None for the public (no key, LINLI_OPEN311_PUBLIC on)."""
    if getattr(runtime.settings, "open311_public", False) and not key_of(request):
        return None
    return scope(runtime, request, "read")


def shown(s: Session, viewer: Scope | None, items: list[Ticket]) -> list[dict]:
    if viewer is None:
        return [public_request_of(t, coarse_place(s, t.grid_id)) for t in items]
    notes = _last_notes(s, [db.pk(t) for t in items])
    return [request_of(t, notes.get(db.pk(t))) for t in items]


def services(runtime: Runtime, fmt: str, request: Request) -> Response:
    return answer(fmt, "services", [service_of(c) for c in REQUEST_CATEGORIES])


def service_definition(runtime: Runtime, fmt: str, request: Request) -> Response:
    service_code = request.path_params["service_code"]
    if service_code not in {c.value for c in REQUEST_CATEGORIES}:
        raise Open311Error(404, f"no service {service_code!r}")
    return answer(fmt, "service_definition", {"service_code": service_code, "attributes": []})


def discovery(runtime: Runtime, fmt: str, request: Request) -> Response:
    base = runtime.settings.public_url.rstrip("/")
    return answer(fmt, "discovery", {
        "changeset": CHANGESET,
        "contact": getattr(runtime.settings, "open311_contact", "") or None,
        "key_service": f"API 令牌 in the console: {base}/console/tokens",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2", "url": f"{base}/open311/v2",
            "changeset": CHANGESET, "type": "production", "formats": ["text/xml", "application/json"],
        }],
    })


def list_requests(runtime: Runtime, fmt: str, request: Request) -> Response:
    viewer = reader(runtime, request)
    p = request.query_params
    now = utcnow()
    ids = tuple(int(x) for x in (p.get("service_request_id") or "").split(",")
                if x.strip().isdecimal() and int(x) <= tickets.MAX_NUMBER)
    codes = []
    for code in filter(None, (p.get("service_code") or "").split(",")):
        try:
            codes.append(Category(code.strip()))
        except ValueError:
            raise Open311Error(400, f"unknown service_code {code!r}; see services.{fmt}") from None
    start, end = _parse_dt(p.get("start_date"), "start_date"), _parse_dt(p.get("end_date"), "end_date")
    if not ids and start is None:
        start = (end or now) - DEFAULT_WINDOW
    status = p.get("status") or None
    if status not in (None, "open", "closed"):
        raise Open311Error(400, "status must be open or closed")
    flt = TicketFilter(ids=ids, categories=tuple(codes), status=status, created_from=start, created_to=end,
                       states=PUBLIC_STATES if viewer is None else ())
    with Session(runtime.engine) as s:
        try:
            page = search.search(s, flt, viewer, limit=MAX_REQUESTS, now=now)
        except BadQuery as exc:
            raise Open311Error(400, str(exc)) from None
        return answer(fmt, "service_requests", shown(s, viewer, page.items))


def get_request(runtime: Runtime, fmt: str, request: Request) -> Response:
    service_request_id = request.path_params["service_request_id"]
    viewer = reader(runtime, request)
    missing = Open311Error(404, f"no service request {service_request_id!r}")
    if not service_request_id.isdecimal() or int(service_request_id) > tickets.MAX_NUMBER:
        raise missing
    with Session(runtime.engine) as s:
        t = s.get(Ticket, int(service_request_id))
        if t is None or (viewer is None and TicketState(t.state) not in PUBLIC_STATES) or (
                viewer is not None and not search.visible(viewer, t)):
            raise missing
        return answer(fmt, "service_requests", shown(s, viewer, [t]))


def create_request(runtime: Runtime, fmt: str, request: Request, form: dict) -> Response:
    viewer = scope(runtime, request, "write", form, may="file")
    code = form.get("service_code", "").strip()
    try:
        category = Category(code)
    except ValueError:
        raise Open311Error(400, f"service_code {code!r} is not one of services.{fmt}") from None
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
    return answer(fmt, "service_requests", [{"service_request_id": str(number), "service_notice": None, "account_id": None}])


def endpoint(handler, fmt: str, *, form: bool = False):
    """One route per format; Open311 errors in that format (a JSON or XML list of code and description)."""
    async def serve(request: Request, runtime: RuntimeDep) -> Response:
        try:
            if form:
                fields = {k: str(v) for k, v in (await request.form()).items()}
                return await run_in_threadpool(handler, runtime, fmt, request, fields)
            return await run_in_threadpool(handler, runtime, fmt, request)
        except Open311Error as exc:
            return _error(exc.status, exc.description, fmt)

    serve.__name__ = f"{handler.__name__}_{fmt}"
    return serve

router = APIRouter(prefix="/open311/v2", tags=["open311"])
ROUTES = [
    ("/discovery", discovery, "GET", "Open311: discovery (endpoints, formats, where to get a key)", None),
    ("/services", services, "GET", "Open311: the service types (our request categories)", None),
    ("/services/{service_code}", service_definition, "GET", "Open311: a service definition (no extra attributes)", None),
    ("/requests", list_requests, "GET", "Open311: service requests (api_key, or public when LINLI_OPEN311_PUBLIC)", None),
    ("/requests/{service_request_id}", get_request, "GET", "Open311: one service request", None),
    ("/requests", create_request, "POST", "Open311: file a service request (form-encoded, api_key with write)", "form"),
]
for path, handler, method, summary, kind in ROUTES:
    for fmt in FORMATS:
        router.add_api_route(f"{path}.{fmt}", endpoint(handler, fmt, form=kind == "form"), methods=[method],
                        summary=f"{summary} — {fmt.upper()}", response_class=Response)
