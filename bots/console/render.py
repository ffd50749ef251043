"""Drawing a console page: the Jinja environment, :func:`page`, :func:`forbidden`, and small lookups pages share."""

from __future__ import annotations

from pathlib import Path

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, select

from bots.console import auth
from bots.console.colours import LABELS as COLOUR_LABELS
from core.models import Grid
from core.timefmt import duration, local

HERE = Path(__file__).resolve().parent


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    env.filters["local"] = lambda dt: local(dt).strftime("%Y-%m-%d %H:%M") if dt else "—"
    env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.1f}%"
    env.filters["duration"] = duration
    return env


templates = Jinja2Templates(env=_environment())


def page(request: Request, name: str, viewer: auth.Viewer | None, status_code: int = 200, headers: dict | None = None,
         **context) -> HTMLResponse:
    """The template ``name`` with the viewer, the colour labels and the current path (for the menu)."""
    context.update(viewer=viewer, colour_labels=COLOUR_LABELS, nav=request.url.path)
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)


def forbidden(request: Request, viewer: auth.Viewer, message: str) -> HTMLResponse:
    """A 403 page saying who may see this instead."""
    return page(request, "error.html", viewer, status_code=403, title="无权查看", message=message)


def grid_names(s: Session) -> dict[str, str]:
    """Grid id → name, for drawing rows."""
    return {g.id: g.name for g in s.exec(select(Grid))}


def safe_next(target: str) -> str:
    """Only redirect within the console (or back to the playground) after sign-in, never to another site."""
    inside = target.startswith("/console") or target in ("/playground", "/playground/")
    return target if inside and not target.startswith("//") else "/console/tickets"
