"""Fixtures of the reliability tests: an injectable clock, a flaky fake platform API served
over real HTTP on loopback (bench/faults.py) and the adapter that talks to it."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.faults import FakeClock, FakePlatform, HttpAdapter  # noqa: E402
from core.classify import Classification  # noqa: E402
from core.taxonomy import Category, Urgency  # noqa: E402


def always_a_request(text: str) -> Classification:
    """A classifier stub: every message is a repair request (keeps these tests independent of the model)."""
    return Classification(is_request=True, category=Category.FACILITIES, urgency=Urgency.NORMAL, confidence=0.9,
                          location="1栋")  # says where: no 「在哪个位置？」 follow-up


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rt(runtime):
    """The conftest runtime, with a bot that files every message as a new request (no duplicate merging)."""
    runtime.bot.classify = always_a_request
    runtime.bot.duplicate_window = timedelta(0)
    return runtime


@pytest.fixture
def platform_api(serve_app, clock):
    """Start a FakePlatform on loopback: ``api, url = platform_api(failure_rate=0.3)``."""
    servers = []

    def start(**kwargs) -> tuple[FakePlatform, str]:
        fake = FakePlatform(clock, **kwargs)
        server = serve_app(fake.app()).__enter__()
        servers.append(server)
        return fake, server.url

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def http_adapter():
    """Build adapters for a FakePlatform: ``http_adapter("playground", url, RateLimit(...))``."""
    return HttpAdapter


@pytest.fixture
def request_classifier():
    """The classifier stub that files every message as a request."""
    return always_a_request


@pytest.fixture
def deliver_everything():
    """The delivery scenario of bench/faults.py: run the outbox workers until done, then check."""
    from bench.faults import deliver_everything

    return deliver_everything
