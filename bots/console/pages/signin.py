"""Signing in and out of the console."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bots.console import auth
from bots.console.render import page, safe_next
from bots.deps import RuntimeDep
from config.settings import Settings
from core import accounts, db

log = logging.getLogger("linli.console")
router = APIRouter()


def login_policy(settings: Settings) -> accounts.LoginPolicy:
    """Lockout after repeated wrong passwords, and a limit of attempts per address (from the settings)."""
    return accounts.LoginPolicy(settings.login_max_failures, timedelta(seconds=settings.login_lockout_seconds),
                                settings.login_attempts_per_address, timedelta(seconds=settings.login_address_window_seconds))


def _secure(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


@router.get("", response_class=HTMLResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/console/tickets", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, runtime: RuntimeDep, next: str = "/console/tickets", error: str = "") -> HTMLResponse:
    nonce = auth.login_nonce(request)
    response = page(request, "login.html", None, csrf=auth.login_csrf(runtime.settings.secret_key, nonce),
                    next=safe_next(next), error=error)
    auth.set_cookie(response, auth.LOGIN_COOKIE, nonce, secure=_secure(runtime.settings), max_age=3600)
    return response


@router.post("/login")
def login(request: Request, runtime: RuntimeDep, username: str = Form(""), password: str = Form(""), csrf: str = Form(""),
          next: str = Form("/console/tickets")) -> Response:
    nonce = request.cookies.get(auth.LOGIN_COOKIE, "")
    auth.check_token(auth.login_csrf(runtime.settings.secret_key, nonce) if nonce else "", csrf)
    address = request.client.host if request.client else None
    policy = login_policy(runtime.settings)
    result = accounts.authenticate(runtime.engine, username, password, policy=policy, address=address)
    if result.locked_username:
        log.warning("console account %r locked for %d s after %d wrong passwords (last from %s)", result.locked_username,
                    policy.lockout.total_seconds(), policy.max_failures, address)
    if result.retry_after is not None:
        log.warning("console sign-in from %s refused for %d s: over %d attempts", address, result.retry_after,
                    policy.per_address)
        return page(request, "error.html", None, status_code=429, title="尝试次数过多",
                    message=f"这个网络地址登录尝试次数过多，请 {result.retry_after} 秒后再试。",
                    headers={"Retry-After": str(result.retry_after)})
    if result.account is None:
        wrong = (f"用户名或密码不对（连续输错 {policy.max_failures} 次会锁定 "
                 f"{max(1, round(policy.lockout.total_seconds() / 60))} 分钟）")
        return RedirectResponse(f"/console/login?{urlencode({'next': safe_next(next), 'error': wrong})}", status_code=303)
    with db.session_scope(runtime.engine) as s:
        token = accounts.start_session(s, result.account)
    response = RedirectResponse(safe_next(next), status_code=303)
    auth.set_cookie(response, auth.SESSION_COOKIE, token, secure=_secure(runtime.settings),
                    max_age=int(accounts.SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(auth.LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, runtime: RuntimeDep, csrf: str = Form("")) -> Response:
    """Sign out everywhere: every session of the account ends, not only this browser's."""
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        auth.check_token(auth.csrf_for_session(runtime.settings.secret_key, token), csrf)
        with db.session_scope(runtime.engine) as s:
            accounts.end_sessions_of_token(s, token)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response
