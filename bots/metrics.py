"""Prometheus metrics at ``/metrics`` (prometheus-client, text exposition format 0.0.4).

Two kinds of numbers:

- counters of this process (messages in, deliveries, sweep durations): each instance is
  scraped on its own and Prometheus sums them;
- gauges read from the database at scrape time (tickets by state, outbox backlog and
  finally-failed rows, unfinished inbox rows): the same on every instance, since the
  database is the shared state (:class:`DatabaseCollector`).

Hooks for other parts: :func:`count_inbound`, :func:`count_delivery` (called by the
runtime), and :func:`timed` / :func:`timed_sweep` / :func:`observe_sweep` for sweeps (the
runtime wraps ``Sweeper.run_once`` with :func:`timed`)::

    from bots.metrics import timed_sweep
    with timed_sweep("sla"):
        run_the_sweep()
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

import prometheus_client
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Summary, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlmodel import col
from starlette.concurrency import run_in_threadpool

from core.db import table_of
from core.models import InboxMessage, OutboxMessage, Photo, Ticket

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest() writes
T = TypeVar("T")
M = TypeVar("M", Counter, Gauge, Summary)
prometheus_client.disable_created_metrics()  # no *_created series: they were never part of linli's metrics


class _Family(Generic[M]):
    """One of this process's metrics, with the reading side the tests and the runtime use."""

    def __init__(self, metric: M):
        self.metric: M = metric
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(metric)

    def _samples(self) -> Iterator[tuple[str, dict[str, str], float]]:
        for family in self.registry.collect():
            for sample in family.samples:
                yield sample.name, sample.labels, sample.value

    def get(self, **labels: str) -> float:
        """The current value for these labels (0 when never touched)."""
        name = next(iter(self.registry.collect())).name
        suffix = "_total" if isinstance(self.metric, Counter) else ("_sum" if isinstance(self.metric, Summary) else "")
        return self.registry.get_sample_value(name + suffix, labels) or 0.0

    def lines(self) -> list[str]:
        """This metric alone in the exposition format."""
        return generate_latest(self.registry).decode().splitlines()

    @property
    def _counts(self) -> dict[tuple[tuple[str, str], ...], int]:
        """Observations per label set (a summary's ``_count``), keyed by the sorted labels."""
        return {tuple(sorted(labels.items())): int(value) for name, labels, value in self._samples() if name.endswith("_count")}


INBOUND = _Family(Counter("linli_inbound_messages", "Inbound messages accepted by this process (result: new or duplicate).",
                          ["platform", "result"], registry=None))
DELIVERIES = _Family(Counter("linli_outbox_deliveries", "Delivery attempts by this process (result: sent, retry, rate_limited, failed).",
                             ["platform", "result"], registry=None))
SWEEP = _Family(Summary("linli_sweep_duration_seconds", "Time spent in scheduled sweeps by this process.", ["kind"], registry=None))
SWEEP_LAST = _Family(Gauge("linli_sweep_last_duration_seconds", "Duration of the last sweep run by this process.", ["kind"],
                           registry=None))
PROCESS_FAMILIES = (INBOUND, DELIVERIES, SWEEP, SWEEP_LAST)


def count_inbound(platform: str, duplicate: bool) -> None:
    INBOUND.metric.labels(platform=platform, result="duplicate" if duplicate else "new").inc()


def count_delivery(platform: str, result: str) -> None:
    DELIVERIES.metric.labels(platform=platform, result=result).inc()


def observe_sweep(seconds: float, kind: str = "sla") -> None:
    """Record one sweep's duration (the scheduler calls this, or uses :func:`timed_sweep`)."""
    SWEEP.metric.labels(kind=kind).observe(seconds)
    SWEEP_LAST.metric.labels(kind=kind).set(seconds)


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


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time (the same answer on every instance), and
    ``linli_database_up``: 1 when those queries answered. ``engine`` is read on every scrape."""

    def __init__(self, engine: Callable[[], sa.Engine | None]):
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        engine = self.engine()
        up = GaugeMetricFamily("linli_database_up", "1 when the database answered the metrics queries.")
        if engine is None:
            yield up
            return
        try:
            families = database_families(engine)
        except sa.exc.SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        yield from families
        up.add_metric([], 1)
        yield up


def database_families(engine: sa.Engine) -> list[GaugeMetricFamily]:
    """Tickets by state, undelivered and failed outbox rows by platform, unfinished inbox rows, photos not yet kept."""
    tickets = GaugeMetricFamily("linli_tickets", "Tickets by state.", labels=["state"])
    outbox = GaugeMetricFamily("linli_outbox_messages", "Outbox rows not yet delivered (pending, sending) and finally "
                               "failed (failed), by platform.", labels=["platform", "status"])
    inbox = GaugeMetricFamily("linli_inbox_unfinished", "Inbound messages stored but not yet processed, by status.",
                              labels=["status"])
    photos = GaugeMetricFamily("linli_photos", "Photos of tickets not yet downloaded (pending, fetching) and given up "
                               "on (failed), by platform.", labels=["platform", "state"])
    state_col = table_of(Ticket).c.state
    with engine.connect() as conn:
        for state, platform, n in conn.execute(
            sa.select(col(Photo.state), col(Photo.platform), sa.func.count())
            .where(col(Photo.state).in_(["pending", "fetching", "failed"]), col(Photo.ticket_id).is_not(None))
            .group_by(col(Photo.state), col(Photo.platform))
        ):
            photos.add_metric([platform, state], n)
        for state, n in conn.execute(sa.select(state_col, sa.func.count()).group_by(state_col)):
            tickets.add_metric([str(state)], n)
        for status, platform, n in conn.execute(
            sa.select(col(OutboxMessage.status), col(OutboxMessage.platform), sa.func.count())
            .where(col(OutboxMessage.status).in_(["pending", "sending", "failed"]))
            .group_by(col(OutboxMessage.status), col(OutboxMessage.platform))
        ):
            outbox.add_metric([platform, status], n)
        for status, n in conn.execute(
            sa.select(col(InboxMessage.status), sa.func.count())
            .where(col(InboxMessage.status).in_(["received", "processing"])).group_by(col(InboxMessage.status))
        ):
            inbox.add_metric([status], n)
    return [tickets, outbox, inbox, photos]


def registry_for(engine: Callable[[], sa.Engine | None]) -> CollectorRegistry:
    """This process's counters and the database gauges, in one registry (one per app)."""
    registry = CollectorRegistry(auto_describe=True)
    for family in PROCESS_FAMILIES:
        registry.register(family.metric)
    registry.register(DatabaseCollector(engine))
    return registry


def render(engine: sa.Engine | None) -> str:
    """The whole exposition: this process's counters, then the database gauges."""
    return generate_latest(registry_for(lambda: engine)).decode()


def mount(app: FastAPI, runtime) -> None:
    """Add ``GET /metrics``."""
    registry = registry_for(lambda: runtime.engine)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        body = await run_in_threadpool(generate_latest, registry)
        return PlainTextResponse(body, media_type=CONTENT_TYPE)
