"""Console accounts (admins create them) and each account's API tokens."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from bots.console import auth
from bots.console.render import forbidden, page
from bots.deps import RuntimeDep, SessionDep, ViewerDep
from core import accounts, db
from core.db import pk
from core.models import Person, utcnow

router = APIRouter()


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, s: SessionDep, v: ViewerDep, msg: str = "", ok: int = 0) -> HTMLResponse:
    if not v.scope.is_admin:
        return forbidden(request, v, "只有管理员（指挥中心）可以管理账号")
    people = [p for p in s.exec(select(Person).where(Person.declared).order_by(col(Person.id)))
              if p.role in {role.value for role in accounts.CONSOLE_ROLES}]
    return page(request, "accounts.html", v, rows=accounts.list_accounts(s), people=people, msg=msg, ok=ok, now=utcnow())


@router.post("/accounts")
def create_account(runtime: RuntimeDep, v: ViewerDep, username: str = Form(""), person: str = Form(""),
                   password: str = Form(""), csrf: str = Form("")) -> Response:
    auth.check_token(v.csrf, csrf)
    if not v.scope.is_admin:
        raise HTTPException(403, "only admins create accounts")
    try:
        with db.session_scope(runtime.engine) as s:
            accounts.create_account(s, username, person, password)
    except accounts.AccountError as exc:
        return RedirectResponse(f"/console/accounts?{urlencode({'msg': str(exc)})}", status_code=303)
    return RedirectResponse(f"/console/accounts?{urlencode({'msg': f'已创建账号 {username}', 'ok': 1})}", status_code=303)


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, s: SessionDep, v: ViewerDep, msg: str = "") -> HTMLResponse:
    return page(request, "tokens.html", v, tokens=accounts.tokens_of(s, pk(v.account)), new_token=None, msg=msg)


@router.post("/tokens", response_class=HTMLResponse)
def create_token(request: Request, runtime: RuntimeDep, v: ViewerDep, name: str = Form(""), write: str = Form(""),
                 csrf: str = Form("")) -> HTMLResponse:
    auth.check_token(v.csrf, csrf)
    with db.session_scope(runtime.engine) as s:
        _, plain = accounts.issue_token(s, v.account, name, ["read", "write"] if write else ["read"])
        rows = accounts.tokens_of(s, pk(v.account))
    return page(request, "tokens.html", v, tokens=rows, new_token=plain, msg="")


@router.post("/tokens/{token_id}/revoke")
def revoke_token(runtime: RuntimeDep, v: ViewerDep, token_id: int, csrf: str = Form("")) -> Response:
    auth.check_token(v.csrf, csrf)
    with db.session_scope(runtime.engine) as s:
        accounts.revoke_token(s, pk(v.account), token_id)
    return RedirectResponse("/console/tokens", status_code=303)
