"""A controllable neighbourhood for the ticket-loop stories: the real runtime, bot, database and
playground adapter, with an injected clock (tests move time, never sleep)."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from adapters.playground.adapter import PlaygroundAdapter
from bots.runtime import Runtime
from core import tickets
from core.classify import Classification
from core.db import upgrade
from core.message import Message, MessageKind, OutgoingReply
from core.models import OutboxMessage, Ticket, TicketEvent, utcnow
from core.taxonomy import Category, Urgency


class FakeClock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def keyword_classifier(text: str) -> Classification:
    """Deterministic stand-in for the model in stories that are about the loop, not the model."""
    rules: list[tuple[tuple[str, ...], Category]] = [
        (("电梯", "门禁"), Category.PROPERTY),
        (("漏水", "楼上"), Category.NEIGHBOR),
        (("买药", "买菜", "送药"), Category.ELDERLY_CARE),
        (("垃圾",), Category.SANITATION),
    ]
    if "味道" in text:
        return Classification(True, Category.SANITATION, Urgency.NORMAL, 0.3, needs_confirmation=True)
    for words, category in rules:
        if any(w in text for w in words):
            return Classification(True, category, Urgency.NORMAL, 0.9)
    return Classification(False, Category.CHATTER, Urgency.NORMAL, 0.9)


_ids = itertools.count(1)


@dataclass
class Neighbourhood:
    runtime: Runtime
    clock: FakeClock

    def say(self, sender: str, text: str, *, room: str = "demo", reply_to: str | None = None,
            message_id: str | None = None) -> list[OutgoingReply]:
        """Post in a playground room as ``sender`` (an account id from config/grids.example.yaml)."""
        message = Message(platform="playground", chat_id=room, message_id=message_id or f"m{next(_ids)}",
                          sender_id=sender, sender_name=sender, text=text, reply_to_message_id=reply_to,
                          sent_at=self.clock.now)
        return self.runtime.ingest_sync(message).replies

    def press(self, sender: str, data: str, *, room: str = "demo", card: str | None = None) -> list[OutgoingReply]:
        message = Message(platform="playground", chat_id=room, message_id=f"p{next(_ids)}", sender_id=sender,
                          kind=MessageKind.ACTION, action_data=data, reply_to_message_id=card, sent_at=self.clock.now)
        return self.runtime.ingest_sync(message).replies

    def sweep(self):
        return self.runtime.sweeper.run_once()

    def deliver(self) -> int:
        # A thread of its own: never depends on whether this thread has an event loop.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self.runtime.deliver_due()).result()

    def ticket(self, number: int) -> Ticket:
        with Session(self.runtime.engine) as s:
            return s.get(Ticket, number)

    def tickets(self) -> list[Ticket]:
        with Session(self.runtime.engine) as s:
            return list(s.exec(select(Ticket).order_by(Ticket.id)))

    def events(self, number: int, kind: str | None = None) -> list[TicketEvent]:
        with Session(self.runtime.engine) as s:
            return [e for e in tickets.events(s, number) if kind is None or e.kind == kind]

    def outbox(self, chat_key: str | None = None, contains: str | None = None) -> list[OutboxMessage]:
        with Session(self.runtime.engine) as s:
            q = select(OutboxMessage).order_by(OutboxMessage.id)
            if chat_key:
                q = q.where(OutboxMessage.chat_key == chat_key)
            rows = list(s.exec(q))
        return [r for r in rows if contains is None or contains in r.payload["text"]]


# Migrating a fresh database for every story costs a second; the stories start from a migrated
# template instead (a copied SQLite file, a PostgreSQL database created from a template).
@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("loop-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def migrated_postgres(postgres_admin) -> Iterator[str | None]:
    if postgres_admin is None:
        yield None
        return
    name = f"linli_loop_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    upgrade(postgres_admin.url.set(database=name).render_as_string(hide_password=False))
    yield name
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, postgres_admin, migrated_sqlite, migrated_postgres) -> Iterator[str]:
    """Like the shared fixture (SQLite, and PostgreSQL when configured), but already migrated."""
    if request.param == "sqlite":
        shutil.copy(migrated_sqlite, tmp_path / "linli.sqlite3")
        yield f"sqlite:///{tmp_path / 'linli.sqlite3'}"
        return
    if migrated_postgres is None:
        pytest.skip("LINLI_TEST_POSTGRES_URL is not set (tests/run.sh sets it when PostgreSQL is running)")
    name = f"linli_loop_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_postgres}"'))
    yield postgres_admin.url.set(database=name).render_as_string(hide_password=False)
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _clock() -> FakeClock:
    # A little ahead of the wall clock: inbound replies are queued at wall-clock time and
    # must already be due when the runtime's clock asks for due rows.
    return FakeClock(utcnow() + timedelta(minutes=10))


@pytest.fixture
def fake_clock() -> FakeClock:
    return _clock()


@pytest.fixture
def make_neighbourhood(settings) -> Iterator[Callable[..., Neighbourhood]]:
    """Build the demo neighbourhood; ``classify`` None keeps the real classifier."""
    made: list[Runtime] = []

    def make(classify: Callable[[str], Classification] | None = keyword_classifier, **overrides) -> Neighbourhood:
        """``overrides``: settings to change, e.g. ``grids_file`` or ``wecom_robot_webhooks``."""
        clock = _clock()
        runtime = Runtime(settings.model_copy(update=overrides), clock=clock)
        runtime.prepare()
        runtime.register(PlaygroundAdapter())
        if classify is not None:
            runtime.bot.classify = classify
        made.append(runtime)
        return Neighbourhood(runtime, clock)

    yield make
    for runtime in made:
        runtime.engine.dispose()


@pytest.fixture
def hood(make_neighbourhood) -> Neighbourhood:
    return make_neighbourhood()
