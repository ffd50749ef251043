"""Wires the web playground channel: its page and API routes, and its adapter."""

from __future__ import annotations

from fastapi import FastAPI

from adapters.playground.adapter import PlaygroundAdapter
from bots import playground
from bots.channels import playground_mode


def mount(app: FastAPI, runtime) -> list:
    signed_in = playground_mode(runtime.settings) == "signed-in"
    app.include_router(playground.router(runtime, signed_in=signed_in))
    return [PlaygroundAdapter()]
