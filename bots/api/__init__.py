"""The JSON API (/api, documented at /docs) and Open311 GeoReport v2 (/open311/v2)."""

from __future__ import annotations

from fastapi import FastAPI


def mount(app: FastAPI, runtime) -> None:
    from bots.api import open311, rest
    from bots.api.common import RecordOnlyAdapter

    runtime.register(RecordOnlyAdapter())
    app.include_router(rest.router)
    app.include_router(open311.router)
