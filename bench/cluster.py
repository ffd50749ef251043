"""Several real ``linli serve`` processes on one database, a loopback load generator that
behaves like a platform (retries until acknowledged), SIGKILL in the middle, and the check
that every accepted message had exactly one effect.

Used by tests/reliability/test_instances.py (small scale) and bench/kill_test.py (10,000).
Loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from core.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("demo", "anle")
SWEEP_LOCK_KEY = 0x6C696E6C69  # core.locks.KEYS["sweep"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Instance:
    """One ``linli serve`` subprocess."""

    database_url: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    env: dict = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Instance:
        env = {
            **os.environ,
            "LINLI_DATABASE_URL": self.database_url,
            "LINLI_DATA_DIR": str(self.data_dir),
            "LINLI_DUPLICATE_WINDOW_HOURS": "0",  # every message its own ticket: effects are countable
            "LINLI_OUTBOX_POLL_SECONDS": "0.1",
            "LINLI_SWEEP_INTERVAL_SECONDS": "60",
            # load comes from one address into two rooms: the playground's per-client limits are off
            "LINLI_PLAYGROUND_POSTS_PER_MINUTE": "0", "LINLI_PLAYGROUND_ROOM_POSTS_PER_MINUTE": "0",
            **self.env,
        }
        self.log_path = self.data_dir / f"serve-{self.port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes to it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bots.cli", "serve", "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 120) -> float:
        """Seconds from now until /readyz answers 200."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"linli serve exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"linli serve not ready in {timeout} s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, open transactions die with the process."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


TG_GROUP = -1001234567890  # bound to grid xingfu-1 in config/grids.example.yaml
TG_SECRET = "cluster-secret"


def telegram_env(bot_api_url: str) -> dict[str, str]:
    """Environment for instances that take Telegram webhooks (Bot API at ``bot_api_url``)."""
    return {"LINLI_TELEGRAM_TOKEN": "123456789:AAE-linli-cluster", "LINLI_TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
            "LINLI_TELEGRAM_API_BASE": bot_api_url, "LINLI_PUBLIC_URL": ""}


def request_of(i: int, channel: str) -> tuple[str, dict, dict]:
    """(path, JSON body, headers) of message i on ``channel`` (playground or telegram)."""
    if channel == "telegram":
        body = {"update_id": 1_000_000 + i, "message": {
            "message_id": 1_000_000 + i, "date": 1764130000, "chat": {"id": TG_GROUP, "type": "supergroup", "title": "t"},
            "from": {"id": 300000000 + i % 13, "is_bot": False, "first_name": f"居民{i % 13}"},
            "text": payload(i)["text"]}}
        return "/webhooks/telegram", body, {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    return "/playground/api/messages", payload(i), {}


def inbox_key(i: int, channel: str) -> str:
    if channel == "telegram":
        return f"telegram:{TG_GROUP}:{1_000_000 + i}"
    p = payload(i)
    return f"playground:{p['room']}:{p['client_id']}"


def payload(i: int) -> dict:
    """Message i: a request in one of the bound playground rooms, from one of a few residents."""
    return {
        "room": ROOMS[i % 2], "sender_id": f"resident{i % 13}", "sender_name": f"居民{i % 13}",
        # names its building, so no 「在哪个位置？」 follow-up doubles the replies of this load
        "text": f"3栋楼上漏水到我家了，天花板都湿了（第{i}次）", "client_id": f"load-{i}",
    }


@dataclass
class LoadReport:
    accepted: set[int] = field(default_factory=set)
    attempts: Counter = field(default_factory=Counter)  # outcome → count
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0


async def send_all(
    instances: list[Instance], count: int, *, concurrency: int = 16, duplicate_share: float = 0.1,
    on_accepted=None, deadline_seconds: float = 600, seed: int = 8, channel: str = "playground",
) -> LoadReport:
    """POST ``count`` playground messages, each until some instance answers 202 (a platform
    retries the same message the same way). ``duplicate_share`` of them are also sent to a
    second instance at once, as a platform retry racing the first delivery."""
    rng = random.Random(seed)
    report = LoadReport()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    start = time.monotonic()
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)

    async with httpx.AsyncClient(timeout=10, limits=limits) as client:

        async def deliver(i: int, first: int) -> bool:
            for attempt in range(200):
                if time.monotonic() - start > deadline_seconds:
                    raise TimeoutError(f"message {i} not accepted within {deadline_seconds} s")
                target = instances[(first + attempt) % len(instances)]
                t0 = time.perf_counter()
                try:
                    path, body, headers = request_of(i, channel)
                    r = await client.post(target.url + path, json=body, headers=headers)
                except httpx.HTTPError as exc:
                    report.attempts[type(exc).__name__] += 1
                    await asyncio.sleep(0.02)  # load-generator pacing while an instance restarts
                    continue
                report.attempts[str(r.status_code)] += 1
                if r.status_code in (200, 202):
                    report.latencies.append(time.perf_counter() - t0)
                    return True
                await asyncio.sleep(0.02)
            raise RuntimeError(f"message {i} never accepted")

        async def worker() -> None:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                first = i % len(instances)
                tasks = [deliver(i, first)]
                if len(instances) > 1 and rng.random() < duplicate_share:
                    tasks.append(deliver(i, first + 1))
                await asyncio.gather(*tasks)
                report.accepted.add(i)
                if on_accepted:
                    on_accepted(len(report.accepted))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    report.seconds = time.monotonic() - start
    return report


def wait_until_settled(database_url: str, count: int, timeout: float = 120, *, delivered: bool = True) -> None:
    """Wait (bounded) until every message is processed and (``delivered``) every reply sent."""
    engine = make_engine(database_url)
    try:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            with engine.connect() as conn:
                unfinished = conn.execute(sa.text(
                    "select count(*) from inbox where status in ('received','processing')")).scalar()
                total = conn.execute(sa.text("select count(*) from inbox")).scalar()
                undelivered = conn.execute(sa.text(
                    "select count(*) from outbox where status in ('pending','sending')")).scalar()
            if total >= count and not unfinished and (not undelivered or not delivered):
                return
            time.sleep(0.1)
        raise TimeoutError(f"not settled in {timeout} s: {unfinished} unprocessed, {undelivered} undelivered")
    finally:
        engine.dispose()


@dataclass
class EffectReport:
    inbox: Counter
    tickets: int
    tickets_per_message: Counter  # n tickets → how many messages had n
    replies_per_ticket: Counter
    outbox: Counter
    problems: list[str]


def check_effects(database_url: str, accepted: set[int], *, channel: str = "playground", delivered: bool = True) -> EffectReport:
    """Every accepted message stored once, processed once: one ticket, one 'created' reply
    (sent, when ``delivered``; Telegram's 20 a minute per group keeps most of 10,000 queued)."""
    engine = make_engine(database_url)
    problems: list[str] = []
    try:
        with engine.connect() as conn:
            inbox = Counter(dict(conn.execute(sa.text("select status, count(*) from inbox group by status")).all()))
            keys = {k for (k,) in conn.execute(sa.text("select dedup_key from inbox"))}
            per_origin = Counter(dict(conn.execute(sa.text(
                "select chat_key || ':' || origin_message_id, count(*) from tickets group by 1")).all()))
            created = Counter(dict(conn.execute(sa.text(
                "select ticket_id, count(*) from outbox where dedup_key like 'in:%:created:%' group by ticket_id")).all()))
            outbox = Counter(dict(conn.execute(sa.text("select status, count(*) from outbox group by status")).all()))
            tickets = conn.execute(sa.text("select count(*) from tickets")).scalar()
            ids_unique = conn.execute(sa.text("select count(distinct id) = count(*) from tickets")).scalar()
        for i in accepted:
            key = inbox_key(i, channel)
            if key not in keys:
                problems.append(f"accepted message {i} is not in the inbox")
            if per_origin.get(key, 0) != 1:
                problems.append(f"message {i} has {per_origin.get(key, 0)} tickets")
        if set(inbox) - {"done", "ignored"}:
            problems.append(f"inbox rows not done: {dict(inbox)}")
        if delivered and set(outbox) - {"sent"}:
            problems.append(f"outbox rows not sent: {dict(outbox)}")
        if any(n != 1 for n in created.values()) or len(created) != tickets:
            problems.append(f"tickets without exactly one 'created' reply: {sum(1 for n in created.values() if n != 1)}")
        if not ids_unique:
            problems.append("ticket numbers are not unique")
        return EffectReport(inbox, tickets, Counter(per_origin.values()), Counter(created.values()), outbox, problems)
    finally:
        engine.dispose()


def sweep_lock_holders(database_url: str) -> int:
    """How many sessions hold the sweep advisory lock (exactly one while instances run)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(
                "select count(*) from pg_locks where locktype = 'advisory' and granted"
                " and database = (select oid from pg_database where datname = current_database())"
                " and classid = :hi and objid = :lo and objsubid = 1"),
                {"hi": SWEEP_LOCK_KEY >> 32, "lo": SWEEP_LOCK_KEY & 0xFFFFFFFF}).scalar()
    finally:
        engine.dispose()
