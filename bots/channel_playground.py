"""Wires the web playground channel: its page and API routes, and its adapter."""

from __future__ import annotations

from fastapi import FastAPI

from adapters.playground import PlaygroundAdapter
from bots import playground


def mount(app: FastAPI, runtime) -> list:
    app.include_router(playground.router(runtime))
    return [PlaygroundAdapter()]
