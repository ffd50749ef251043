"""Wires the web playground channel: the page and its API (served by the host), and its adapter."""

from __future__ import annotations

from adapters.base import Host, Wiring
from adapters.playground import PLATFORM
from adapters.playground.adapter import PlaygroundAdapter, parse


def mount(host: Host) -> Wiring:
    from adapters.registry import playground_mode

    signed_in = playground_mode(host.settings) == "signed-in"
    return Wiring([PlaygroundAdapter()], [host.page(PLATFORM, signed_in=signed_in, parse=parse, platform=PLATFORM)])
