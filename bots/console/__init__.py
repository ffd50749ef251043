"""The web console for grid workers and the district command centre (server-rendered, at /console)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles


def mount(app: FastAPI, runtime) -> None:
    """Add the console's pages and static files to the app."""
    from bots.console.routes import router

    app.include_router(router(runtime))
    app.mount("/console/static", StaticFiles(directory=Path(__file__).resolve().parent / "static"), name="console-static")
