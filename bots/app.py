"""The FastAPI application: health, the configured channels, and the background workers."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import exc as sa_exc
from starlette.concurrency import run_in_threadpool

from bots import logs, metrics
from bots.api import mount as mount_api
from bots.api_docs import mount_docs
from bots.channels import mount_channels
from bots.console import mount as mount_console
from bots.fast_path import BodyLimitMiddleware, LinliApp
from bots.photo_routes import mount as mount_photos
from bots.runtime import Runtime
from bots.security_headers import SecurityHeadersMiddleware
from config.settings import Settings, get_settings
from core import db

log = logging.getLogger("linli.app")


def mount_console_and_api(app: FastAPI, runtime: Runtime) -> None:
    """The console (/console), the JSON API (/api) and Open311 (/open311/v2): always on."""
    mount_photos(app, runtime)  # before the console and API: their routes are more general
    mount_console(app, runtime)
    mount_api(app, runtime)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> LinliApp:
    """Build the app. ``linli serve`` runs it; tests pass their own settings or runtime."""
    settings = settings or (runtime.settings if runtime else get_settings())
    logs.protect(settings)  # before anything logs: no configured secret reaches a log line from here on
    runtime = runtime or Runtime(settings)
    state: dict[str, Any] = {"ready": False}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(runtime.prepare)
        await runtime.start()
        state["ready"] = True
        log.info("linli ready: channels %s", ", ".join(app.state.channels))
        try:
            yield
        finally:
            state["ready"] = False
            await runtime.stop()

    app = LinliApp(title="linli 邻里", version="0.1.0", lifespan=lifespan, max_body_bytes=settings.max_body_bytes,
                   docs_url=None, redoc_url=None)
    mount_docs(app)  # local assets, no CDN
    app.state.runtime = runtime
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)

    @app.exception_handler(sa_exc.DBAPIError)
    async def _contention(request: Request, exc: sa_exc.DBAPIError) -> JSONResponse:
        # Others held the locks this request needed for longer than the busy timeout: nothing
        # changed; say so and when to try again instead of failing with a 500.
        if not db.is_contention(exc):
            raise exc
        log.warning("%s %s: database busy (%s), answered 503", request.method, request.url.path, type(exc.orig).__name__)
        return JSONResponse({"detail": "the database is busy with other changes; nothing was changed, try again"},
                            status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Clear, short errors; never echo a stack trace.
        details = [{"loc": e.get("loc"), "msg": e.get("msg")} for e in exc.errors()]
        return JSONResponse({"detail": details}, status_code=422)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        if not state["ready"]:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """Ready for traffic: started, the database answers, and its schema is at the head migration."""
        if not state["ready"]:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            current = await run_in_threadpool(db.current_revision, runtime.engine)
        except Exception as exc:  # any driver error means "not ready"; say which, without a trace
            return JSONResponse({"status": "database unreachable", "error": type(exc).__name__}, status_code=503)
        head = state.get("head") or state.setdefault("head", db.head_revision())
        if current != head:
            return JSONResponse({"status": "migrations pending", "current": current, "head": head}, status_code=503)
        return JSONResponse({"status": "ok", "revision": current})

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/playground" if "playground" in app.state.channels else "/docs")

    metrics.mount(app, runtime)
    app.state.channels = mount_channels(app, runtime)
    mount_console_and_api(app, runtime)
    return app
