"""FastAPI dependencies of every web route (console, REST API, Open311, playground).

- :data:`RuntimeDep`: the running :class:`bots.runtime.Runtime` (``app.state.runtime``);
- :data:`SessionDep`: a read session for the request (writes open ``db.session_scope`` themselves,
  so each change is one visible transaction);
- :data:`ViewerDep`: the signed-in console account and its scope, else a redirect to sign-in;
- :data:`Reader`, :data:`Filer`, :data:`Actor`: the scope of the request's API token, by what
  the call needs (read; write and may file; write and may act).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from bots.api.common import scope_for_token
from bots.console import auth
from bots.runtime import Runtime
from core import accounts, db


async def get_runtime(request: Request) -> Runtime:
    """The runtime the app was built with (bots.app.create_app puts it on ``app.state``)."""
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session for reading; closed when the request is done."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_viewer(request: Request, runtime: RuntimeDep) -> auth.Viewer:
    """Who is signed in to the console; a 303 to the sign-in page (coming back here after) if nobody.
    Checked on a session of its own, so a long-lived response (live events) holds no connection."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        viewer = auth.viewer_of(request, session, runtime.settings.secret_key)
    if viewer is None:
        raise auth.login_redirect(request)
    return viewer


ViewerDep = Annotated[auth.Viewer, Depends(get_viewer)]

bearer = HTTPBearer(auto_error=False, description="An API token from the console (API 令牌)")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _token_scope(runtime: Runtime, creds: HTTPAuthorizationCredentials | None, need: str,
                 may: Literal["file", "act"] | None = None) -> accounts.Scope:
    with db.session_scope(runtime.engine) as s:
        return scope_for_token(s, creds.credentials if creds else None, need=need, may=may)


def read_scope(runtime: RuntimeDep, creds: Credentials) -> accounts.Scope:
    """A token with the ``read`` scope."""
    return _token_scope(runtime, creds, "read")


def filer_scope(runtime: RuntimeDep, creds: Credentials) -> accounts.Scope:
    """A ``write`` token of an account whose role may file tickets (as on the console's relay page)."""
    return _token_scope(runtime, creds, "write", "file")


def actor_scope(runtime: RuntimeDep, creds: Credentials) -> accounts.Scope:
    """A ``write`` token of an account whose role may act on tickets (as on the console's ticket page)."""
    return _token_scope(runtime, creds, "write", "act")


Reader = Annotated[accounts.Scope, Depends(read_scope)]
Filer = Annotated[accounts.Scope, Depends(filer_scope)]
Actor = Annotated[accounts.Scope, Depends(actor_scope)]
