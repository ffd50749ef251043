"""Notices (通知) to residents' groups: the same as 「通知 …」 in a chat."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import select

from bots.console import auth
from bots.console.render import forbidden, grid_names, page
from bots.console.views import grids_in_scope
from bots.deps import RuntimeDep, SessionDep, ViewerDep
from core import db, notices
from core.models import Grid, Person, utcnow
from core.people import display_name

router = APIRouter()


@router.get("/notices", response_class=HTMLResponse)
def notices_page(request: Request, s: SessionDep, v: ViewerDep, msg: str = "", ok: int = 0) -> HTMLResponse:
    if not v.scope.can_act:
        return forbidden(request, v, "只有网格员和指挥中心可以发布通知")
    return page(request, "notices.html", v, grids=grids_in_scope(s, v.scope), names=grid_names(s), msg=msg, ok=ok,
                rows=notices.recent(s, v.scope.grid_ids), max_chars=notices.MAX_NOTICE_CHARS)


@router.post("/notices")
def send_notice_form(runtime: RuntimeDep, v: ViewerDep, grid: str = Form(""), text: str = Form(""),
                     csrf: str = Form("")) -> Response:
    """Every residents' group of the grid and below, through the outbox."""
    from bots.notices import NoticeRefused, send_notice, sent_text
    from bots.replies import enqueue

    auth.check_token(v.csrf, csrf)
    if not v.scope.can_act:
        raise HTTPException(403, "this account may not send notices")
    templates = runtime.bot.templates
    try:
        with db.session_scope(runtime.engine) as s:
            person = s.exec(select(Person).where(Person.key == v.scope.person_key)).one()
            if s.get(Grid, grid) is None or not v.scope.sees_grid(grid):
                raise NoticeRefused("notice_not_allowed", name=display_name(person), contact="上级指挥中心")
            sent = send_notice(s, templates, sender=person, grid_id=grid, text=text, via="console", now=utcnow(),
                               can_receive=runtime.bot.actions.can_receive)
            enqueue(s, sent.replies, prefix="console-notice")
            done = sent_text(templates, "simplified", sent)
    except NoticeRefused as exc:
        return RedirectResponse(f"/console/notices?{urlencode({'msg': templates.render(exc.template, **exc.values)})}",
                                status_code=303)
    runtime.changed.set()
    return RedirectResponse(f"/console/notices?{urlencode({'msg': done, 'ok': 1})}", status_code=303)
