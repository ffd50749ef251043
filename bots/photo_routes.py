"""Photos on the web: the bytes for signed-in viewers who may read the ticket, the list in the API,
and the failed downloads for staff (console ``/console/photos``).

A photo is never at a public URL: every request is checked against the viewer's scope (console
session or API token) and the ticket the photo belongs to, and answered with the type sniffed
at download, ``nosniff`` and ``Cache-Control: private``. Open311 never shows photos.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from bots.api.rest import TicketNumber
from bots.console import auth
from bots.console.colours import LABELS as COLOUR_LABELS
from bots.deps import Reader
from bots.photo_store import PhotoStore, store_for
from bots.ticket_view import iso
from core import accounts, photos, search
from core.models import Photo, Ticket
from core.timefmt import local

PhotoId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
TEMPLATES = Path(__file__).resolve().parent / "console" / "templates"


class PhotoOut(BaseModel):
    id: int
    ticket_id: int
    role: str  # report | result (工作留痕)
    state: str  # pending | fetched | failed
    label: str
    content_type: str | None
    size: int | None
    error: str | None
    created_at: str | None
    url: str | None  # the authenticated content endpoint, once fetched


def photo_out(row: Photo) -> dict:
    v = photos.view(row)
    url = f"/api/tickets/{v.ticket_id}/photos/{v.id}" if v.state == "fetched" else None
    return {"id": v.id, "ticket_id": v.ticket_id, "role": v.role, "state": v.state, "label": v.label,
            "content_type": v.content_type, "size": v.size, "error": v.error, "created_at": iso(v.created_at), "url": url}


def photo_response(store: PhotoStore, row: Photo) -> Response:
    """The stored bytes with the sniffed type; 404 when not fetched (yet) or gone from the store."""
    data = store.get(row.sha256) if row.state == "fetched" and row.sha256 else None
    if data is None:
        raise HTTPException(404, f"photo {row.id} is not stored (yet): its state is {photos.view(row).state}")
    return Response(data, media_type=row.content_type or "application/octet-stream", headers={
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600",
        "Content-Disposition": f'inline; filename="linli-{row.ticket_id}-{row.id}"',
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })


def _photo_of(s: Session, scope: accounts.Scope, number: int, photo_id: int) -> Photo:
    ticket = s.get(Ticket, number)
    row = s.get(Photo, photo_id)
    # One answer for "no such photo" and "not yours": the id says nothing about other tickets.
    if ticket is None or row is None or row.ticket_id != number or not search.visible(scope, ticket):
        raise HTTPException(404, f"no photo {photo_id} on ticket #{number} that you may see")
    return row


def ticket_photos(s: Session, ticket_id: int) -> list[photos.PhotoView]:
    """A ticket's photos as the ticket page shows them."""
    return [photos.view(p) for p in photos.of_ticket(s, ticket_id)]


def api_router(runtime, store: PhotoStore) -> APIRouter:
    r = APIRouter(prefix="/api", tags=["api"])

    @r.get("/tickets/{number}/photos", response_model=list[PhotoOut], summary="A ticket's photos and their download state")
    def list_photos(number: TicketNumber, scope: Reader) -> list[dict]:
        with Session(runtime.engine) as s:
            ticket = s.get(Ticket, number)
            if ticket is None:
                raise HTTPException(404, f"no ticket #{number}")
            if not search.visible(scope, ticket):
                raise HTTPException(403, f"ticket #{number} is outside this token's grids")
            return [photo_out(p) for p in photos.of_ticket(s, number)]

    @r.get("/tickets/{number}/photos/{photo_id}", response_class=Response, summary="A photo's bytes (image/*)")
    async def photo_bytes(number: TicketNumber, photo_id: PhotoId, scope: Reader) -> Response:
        def load() -> Response:
            with Session(runtime.engine) as s:
                return photo_response(store, _photo_of(s, scope, number, photo_id))
        return await run_in_threadpool(load)

    return r


def console_router(runtime, store: PhotoStore) -> APIRouter:
    r = APIRouter(prefix="/console", include_in_schema=False)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    env.filters["local"] = lambda dt: local(dt).strftime("%Y-%m-%d %H:%M") if dt else "—"
    templates = Jinja2Templates(env=env)
    secret = runtime.settings.secret_key

    def viewer(request: Request, s: Session) -> auth.Viewer:
        v = auth.viewer_of(request, s, secret)
        if v is None:
            raise auth.login_redirect(request)
        return v

    @r.get("/tickets/{number}/photos/{photo_id}")
    async def photo_bytes(request: Request, number: TicketNumber, photo_id: PhotoId) -> Response:
        def load() -> Response:
            with Session(runtime.engine) as s:
                return photo_response(store, _photo_of(s, viewer(request, s).scope, number, photo_id))
        return await run_in_threadpool(load)

    @r.get("/photos", response_class=HTMLResponse)
    def failed_photos(request: Request, msg: str = "") -> HTMLResponse:
        with Session(runtime.engine) as s:
            v = viewer(request, s)
            rows = [p for p in photos.failed(s) if (t := s.get(Ticket, p.ticket_id)) is not None and search.visible(v.scope, t)]
            return templates.TemplateResponse(request, "photos.html", {
                "viewer": v, "nav": request.url.path, "colour_labels": COLOUR_LABELS, "rows": rows, "msg": msg})

    @r.post("/photos/{photo_id}/retry")
    def retry(request: Request, photo_id: PhotoId, csrf: str = Form("")) -> Response:
        with Session(runtime.engine) as s:
            v = viewer(request, s)
            auth.check_token(v.csrf, csrf)
            row = s.get(Photo, photo_id)
            ticket = s.get(Ticket, row.ticket_id) if row is not None and row.ticket_id else None
            if ticket is None or not search.visible(v.scope, ticket) or not v.scope.can_act:
                raise HTTPException(404, f"no failed photo {photo_id} that you may retry")
            done = photos.retry(s, photo_id)
        msg = "已重新排队，稍后自动下载" if done else "该图片不在失败列表中"
        return RedirectResponse(f"/console/photos?{urlencode({'msg': msg})}", status_code=303)

    return r


def mount(app, runtime) -> None:
    """Add the photo endpoints of the console and the API."""
    store = store_for(runtime.settings)
    app.include_router(api_router(runtime, store))
    app.include_router(console_router(runtime, store))
