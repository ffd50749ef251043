"""A flaky platform API on loopback and the scenario that proves delivery through it: every
reply delivered exactly once, per-chat and global rate limits held, with several runtimes
(instances) sending from one database and an injected clock.

Used by tests/reliability (80 replies) and bench/delivery_faults.py (thousands).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from adapters.base import ChannelAdapter, Delivered, DeliveryError, RateLimit
from core.message import OutgoingReply
from core.models import OutboxMessage, utcnow


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


@dataclass
class DeliveryReport:
    replies: int
    sent: int
    statuses: Counter
    delivered_once: bool
    calls: Counter
    max_per_chat_minute: int
    max_per_second: int
    fake_seconds: float
    rounds: int
    problems: list[str]


async def deliver_everything(runtimes: list, clock: FakeClock, fake: FakePlatform, limits: RateLimit,
                             *, max_rounds: int = 100_000, step: float = 1.0) -> DeliveryReport:
    """Run every runtime's outbox worker round after round (one fake ``step`` apart) until no
    row is pending, then check what the fake platform received."""
    engine = runtimes[0].engine

    def statuses() -> Counter:
        with engine.connect() as conn:
            return Counter(dict(conn.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all()))

    with engine.connect() as conn:
        expected = {HttpAdapter.identity(OutgoingReply.model_validate(p)) for (p,) in conn.execute(sa.select(OutboxMessage.payload))}
    start = clock()
    rounds = 0
    for rounds in range(1, max_rounds + 1):  # noqa: B007 - read after the loop
        await asyncio.gather(*(r.deliver_due() for r in runtimes))
        if not (statuses().keys() & {"pending", "sending"}):
            break
        clock.advance(step)
    final = statuses()
    identities = Counter(identity for _, _, identity in fake.delivered)
    per_chat = per_second = 0
    times = sorted(fake.delivered)
    for at, chat, _ in times:
        per_chat = max(per_chat, sum(1 for d, c, _ in times if c == chat and at - timedelta(minutes=1) < d <= at))
        per_second = max(per_second, sum(1 for d, _, _ in times if at - timedelta(seconds=1) < d <= at))
    problems = []
    if set(final) != {"sent"}:
        problems.append(f"outbox rows not sent: {dict(final)}")
    if set(identities) != expected or set(identities.values()) != {1}:
        problems.append(f"replies not delivered exactly once: {sum(1 for n in identities.values() if n != 1)} repeated, "
                        f"{len(expected - set(identities))} missing")
    if limits.per_chat_per_minute and per_chat > limits.per_chat_per_minute:
        problems.append(f"{per_chat} replies in one chat within a minute (limit {limits.per_chat_per_minute})")
    if limits.global_per_second and per_second > limits.global_per_second:
        problems.append(f"{per_second} replies within a second (limit {limits.global_per_second})")
    return DeliveryReport(len(expected), final.get("sent", 0), final, not problems[1:2], Counter(fake.calls),
                          per_chat, per_second, (clock() - start).total_seconds(), rounds, problems)
