"""Prometheus metrics at ``/metrics`` (text exposition format 0.0.4, written here: it is small).

Two kinds of numbers:

- counters of this process (messages in, deliveries, sweep durations): each instance is
  scraped on its own and Prometheus sums them;
- gauges read from the database at scrape time (tickets by state, outbox backlog and
  finally-failed rows, unfinished inbox rows): the same on every instance, since the
  database is the shared state.

Hooks for other parts: :func:`count_inbound`, :func:`count_delivery` (called by the
runtime), and :func:`timed` / :func:`timed_sweep` / :func:`observe_sweep` for sweeps (the
runtime wraps ``Sweeper.run_once`` with :func:`timed`)::

    from bots.metrics import timed_sweep
    with timed_sweep("sla"):
        run_the_sweep()
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from core.models import InboxMessage, OutboxMessage, Ticket
from core.photos import Photo

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
T = TypeVar("T")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in pairs) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Family:
    """One metric name with labelled values (thread-safe; handlers run in a thread pool)."""

    def __init__(self, name: str, kind: str, help_text: str):
        self.name, self.kind, self.help = name, kind, help_text
        self._values: dict[tuple[tuple[str, str], ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def set(self, value: float, **labels: str) -> None:
        with self._lock:
            self._values[tuple(sorted(labels.items()))] = value

    def get(self, **labels: str) -> float:
        return self._values.get(tuple(sorted(labels.items())), 0.0)

    def lines(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        with self._lock:
            items = sorted(self._values.items())
        out += [f"{self.name}{_labels(key)} {_number(value)}" for key, value in items]
        return out


class Summary(Family):
    """A summary without quantiles: ``<name>_sum`` and ``<name>_count`` per label set."""

    def __init__(self, name: str, help_text: str):
        super().__init__(name, "summary", help_text)
        self._counts: dict[tuple[tuple[str, str], ...], int] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + value
            self._counts[key] = self._counts.get(key, 0) + 1

    def lines(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        with self._lock:
            items = sorted(self._values.items())
            counts = dict(self._counts)
        for key, total in items:
            out.append(f"{self.name}_sum{_labels(key)} {_number(total)}")
            out.append(f"{self.name}_count{_labels(key)} {counts[key]}")
        return out


INBOUND = Family("linli_inbound_messages_total", "counter", "Inbound messages accepted by this process (result: new or duplicate).")
DELIVERIES = Family("linli_outbox_deliveries_total", "counter",
                    "Delivery attempts by this process (result: sent, retry, rate_limited, failed).")
SWEEP = Summary("linli_sweep_duration_seconds", "Time spent in scheduled sweeps by this process.")
SWEEP_LAST = Family("linli_sweep_last_duration_seconds", "gauge", "Duration of the last sweep run by this process.")
PROCESS_FAMILIES = (INBOUND, DELIVERIES, SWEEP, SWEEP_LAST)


def count_inbound(platform: str, duplicate: bool) -> None:
    INBOUND.inc(platform=platform, result="duplicate" if duplicate else "new")


def count_delivery(platform: str, result: str) -> None:
    DELIVERIES.inc(platform=platform, result=result)


def observe_sweep(seconds: float, kind: str = "sla") -> None:
    """Record one sweep's duration (the scheduler calls this, or uses :func:`timed_sweep`)."""
    SWEEP.observe(seconds, kind=kind)
    SWEEP_LAST.set(seconds, kind=kind)


@contextmanager
def timed_sweep(kind: str = "sla") -> Iterator[None]:
    """Time the block as one sweep (recorded even when it raises)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        observe_sweep(time.perf_counter() - start, kind)


def timed(fn: Callable[..., T], kind: str = "sla") -> Callable[..., T]:
    """``fn`` wrapped so that each call is recorded as one sweep of ``kind``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with timed_sweep(kind):
            return fn(*args, **kwargs)

    return wrapper


def database_lines(engine: sa.Engine) -> list[str]:
    """Gauges read from the database: the same answer on every instance."""
    tickets = Family("linli_tickets", "gauge", "Tickets by state.")
    outbox = Family("linli_outbox_messages", "gauge",
                    "Outbox rows not yet delivered (pending, sending) and finally failed (failed), by platform.")
    inbox = Family("linli_inbox_unfinished", "gauge", "Inbound messages stored but not yet processed, by status.")
    photos = Family("linli_photos", "gauge", "Photos of tickets not yet downloaded (pending, fetching) and given up on (failed), by platform.")
    with engine.connect() as conn:
        for state, platform, n in conn.execute(
            sa.select(Photo.state, Photo.platform, sa.func.count())
            .where(Photo.state.in_(["pending", "fetching", "failed"]), Photo.ticket_id.is_not(None))
            .group_by(Photo.state, Photo.platform)
        ):
            photos.set(n, state=state, platform=platform)
        for state, n in conn.execute(sa.select(Ticket.__table__.c.state, sa.func.count()).group_by(Ticket.__table__.c.state)):
            tickets.set(n, state=str(state))
        for status, platform, n in conn.execute(
            sa.select(OutboxMessage.status, OutboxMessage.platform, sa.func.count())
            .where(OutboxMessage.status.in_(["pending", "sending", "failed"]))
            .group_by(OutboxMessage.status, OutboxMessage.platform)
        ):
            outbox.set(n, status=status, platform=platform)
        for status, n in conn.execute(
            sa.select(InboxMessage.status, sa.func.count())
            .where(InboxMessage.status.in_(["received", "processing"])).group_by(InboxMessage.status)
        ):
            inbox.set(n, status=status)
    return tickets.lines() + outbox.lines() + inbox.lines() + photos.lines()


def render(engine: sa.Engine | None) -> str:
    """The whole exposition: this process's counters, then the database gauges."""
    lines: list[str] = []
    for family in PROCESS_FAMILIES:
        lines += family.lines()
    up = Family("linli_database_up", "gauge", "1 when the database answered the metrics queries.")
    if engine is not None:
        try:
            lines += database_lines(engine)
            up.set(1)
        except sa.exc.SQLAlchemyError:
            up.set(0)
    return "\n".join(lines + up.lines()) + "\n"


def mount(app: FastAPI, runtime) -> None:
    """Add ``GET /metrics``."""

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        body = await run_in_threadpool(render, runtime.engine)
        return PlainTextResponse(body, media_type=CONTENT_TYPE)
