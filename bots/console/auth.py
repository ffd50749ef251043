"""Console sign-in: the session cookie, CSRF tokens, and who is looking.

The cookie holds a random session token (core.accounts stores only its digest, so logout
and expiry are enforced by the database and any instance can check it). Every form carries
a CSRF token: an HMAC of the session token under LINLI_SECRET_KEY, so a page on another
site cannot forge one. The login form, before any session exists, uses a random nonce
cookie in the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session

from core import accounts
from core.models import ConsoleAccount

SESSION_COOKIE = "linli_session"
LOGIN_COOKIE = "linli_login"


@dataclass(frozen=True)
class Viewer:
    """The signed-in account, its scope, and its CSRF token for forms."""

    account: ConsoleAccount
    scope: accounts.Scope
    csrf: str


def _sign(secret: str, purpose: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def csrf_for_session(secret: str, session_token: str) -> str:
    return _sign(secret, "csrf", session_token)


def login_nonce(request: Request) -> str:
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def login_csrf(secret: str, nonce: str) -> str:
    return _sign(secret, "login", nonce)


def check_token(expected: str, given: str | None) -> None:
    """Refuse a POST whose CSRF token is missing or wrong (403, nothing changes)."""
    if not given or not hmac.compare_digest(expected, given):
        raise HTTPException(403, "CSRF token missing or invalid: reload the page and submit the form again")


def set_cookie(response: Response, name: str, value: str, *, secure: bool, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/")


def viewer_of(request: Request, session: Session, secret: str) -> Viewer | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    account = accounts.account_for_session(session, token)
    if account is None:
        return None
    try:
        scope = accounts.scope_for(session, account)
    except accounts.AccountError:
        return None
    return Viewer(account, scope, csrf_for_session(secret, token))


def login_redirect(request: Request) -> HTTPException:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(303, "sign in first", headers={"Location": f"/console/login?next={quote(target)}"})
