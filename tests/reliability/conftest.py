"""Doubles for the reliability tests: an injectable clock, a flaky fake platform API served
over real HTTP on loopback, and the adapter that talks to it."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from adapters.base import ChannelAdapter, Delivered, DeliveryError, RateLimit
from core.classify import Classification
from core.message import OutgoingReply
from core.models import utcnow
from core.taxonomy import Category, Urgency


class FakeClock:
    """Time that only moves when the test says so."""

    def __init__(self, start: datetime | None = None):
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakePlatform:
    """A platform send API that fails ``failure_rate`` of calls: 5xx, 429 with retry_after,
    or a hang longer than the client's timeout. Only successful calls are recorded, with the
    (fake) time they arrived."""

    clock: FakeClock
    failure_rate: float = 0.3
    hang_seconds: float = 0.3
    seed: int = 8
    delivered: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, chat, identity)
    calls: Counter = field(default_factory=Counter)

    def __post_init__(self):
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.get("/healthz")
        def healthz() -> dict:
            return {"ok": True}

        @api.post("/send")
        async def send(request: Request) -> JSONResponse:
            body = await request.json()
            with self._lock:
                roll = self._rng.random()
            third = self.failure_rate / 3
            if roll < third:
                self.calls["500"] += 1
                return JSONResponse({"error": "internal"}, status_code=502)
            if roll < 2 * third:
                self.calls["429"] += 1
                return JSONResponse({"error": "too many requests", "retry_after": 1}, status_code=429)
            if roll < 3 * third:
                self.calls["timeout"] += 1
                await asyncio.sleep(self.hang_seconds)  # the client gave up; nothing is delivered
                return JSONResponse({"error": "late"}, status_code=504)
            self.calls["ok"] += 1
            with self._lock:
                self.delivered.append((self.clock(), body["chat"], body["identity"]))
                number = len(self.delivered)
            return JSONResponse({"message_id": str(number)})

        return api


class HttpAdapter(ChannelAdapter):
    """Delivers replies of ``platform`` to a FakePlatform over HTTP, mapping its failures
    the way real adapters do (5xx and time-outs retryable, 429 with retry_after)."""

    def __init__(self, platform: str, url: str, rate_limit: RateLimit, timeout: float = 0.1):
        self.platform = platform
        self.rate_limit = rate_limit
        self.url = url
        self.client = httpx.AsyncClient(timeout=timeout)

    @staticmethod
    def identity(reply: OutgoingReply) -> str:
        return f"{reply.chat_id}|{reply.reply_to_message_id}|{reply.text}"

    async def deliver(self, reply: OutgoingReply) -> Delivered:
        try:
            r = await self.client.post(self.url + "/send", json={"chat": reply.chat_id, "identity": self.identity(reply)})
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"timed out: {exc!r}", retryable=True) from exc
        if r.status_code == 429:
            raise DeliveryError("429 too many requests", retryable=True, retry_after=float(r.json()["retry_after"]))
        if r.status_code >= 500:
            raise DeliveryError(f"HTTP {r.status_code}", retryable=True)
        if r.status_code >= 400:
            raise DeliveryError(f"HTTP {r.status_code}: {r.text[:100]}", retryable=False)
        return Delivered(r.json()["message_id"])

    async def stop(self) -> None:
        await self.client.aclose()


def always_a_request(text: str) -> Classification:
    """A classifier stub: every message is a repair request (keeps these tests independent of the model)."""
    return Classification(is_request=True, category=Category.FACILITIES, urgency=Urgency.NORMAL, confidence=0.9)


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
