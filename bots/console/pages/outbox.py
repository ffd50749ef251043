"""Failed deliveries, answers waiting to be posted by hand, and chat-archive records kept back (read-only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bots.console.render import page
from bots.console.views import answers_to_post, failed_deliveries, kept_archive_records
from bots.deps import SessionDep, ViewerDep

router = APIRouter()


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, s: SessionDep, v: ViewerDep) -> HTMLResponse:
    return page(request, "outbox.html", v, rows=failed_deliveries(s, v.scope), to_post=answers_to_post(s, v.scope),
                kept=kept_archive_records(s, v.scope))
