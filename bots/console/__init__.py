"""The web console for grid workers and the district command centre (server-rendered, at /console).

One module per page in ``bots/console/pages/``, each with a module-level ``router``; a new page
is a new module there plus one line in :func:`router`. Pages get the runtime, a session and
the signed-in viewer from ``bots.deps``, draw templates with ``bots.console.render.page``, and
show tickets through ``bots.ticket_view.TicketView``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles


def router() -> APIRouter:
    """Every console page under /console."""
    from bots.console.pages import accounts, live, notices, outbox, relay, signin, stats, tickets

    pages = (signin, tickets, live, stats, accounts, relay, notices, outbox)
    console = APIRouter(include_in_schema=False)
    for module in pages:
        console.include_router(module.router, prefix="/console")
    return console


def mount(app: FastAPI, runtime) -> None:
    """Add the console's pages and static files to the app (the pages find ``runtime`` on ``app.state``)."""
    app.state.runtime = runtime
    app.include_router(router())
    app.mount("/console/static", StaticFiles(directory=Path(__file__).resolve().parent / "static"), name="console-static")
