"""The inbox: every accepted inbound message is stored once before it is acknowledged.

Exactly-once processing rests on one rule: a message's effects and its ``done`` mark are
committed in one transaction that first *locks* the inbox row (:func:`lock_for_processing`).

- A crash mid-way rolls the transaction back; the row stays unfinished and is processed
  again after restart (the recovery loop of any instance picks it up).
- Two workers never both apply a message: the second one waits for (SQLite: the single
  writer lock) or skips (PostgreSQL: ``FOR UPDATE SKIP LOCKED``) the locked row, and then
  finds it finished. No lease or timeout decides ownership, so a slow worker is never
  overtaken.
- Each attempt is counted in its own small transaction first (:func:`claim`), so a message
  that kills the process every time is given up after :data:`MAX_ATTEMPTS` and stays
  visible as ``failed`` instead of looping forever. Only attempts are counted, not workers:
  a claim of a row another worker claimed less than :data:`RECOUNT_AFTER` ago is that
  worker's attempt still under way, so any number of workers at once never use up the count.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core.db import rowcount, table_of
from core.message import Message, MessageKind
from core.models import InboxMessage, utcnow

MAX_ATTEMPTS = 5
RECOUNT_AFTER = timedelta(seconds=10)  # below the recovery loop's 15 s, far above any claim-to-lock gap
UNFINISHED = ("received", "processing")


def dedup_key(message: Message) -> str:
    """Platform + chat + message id; an edit is a new event of the same message."""
    key = f"{message.platform}:{message.chat_id}:{message.message_id}"
    if message.kind is MessageKind.EDIT:
        key += f":edit:{message.sent_at.timestamp():.0f}"
    elif message.kind is not MessageKind.MESSAGE:
        key += f":{message.kind.value}"
    return key


class _Turns:
    """A first-come-first-served, re-entrant lock: whoever asked first writes next."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[int] = deque()
        self._owner: int | None = None
        self._depth = 0

    def __enter__(self) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return
            self._queue.append(me)
            while self._owner is not None or self._queue[0] != me:
                self._cond.wait()
            self._queue.popleft()
            self._owner, self._depth = me, 1

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()


_SQLITE_TURNS = _Turns()


@contextmanager
def writer_turn(bind: Session | sa.Engine) -> Iterator[None]:
    """On SQLite, hold for a write transaction of the inbox path (storing, processing): this
    process's threads then write one after another in arrival order instead of all polling
    SQLite's lock, whose busy handler sleeps 1–100 ms between tries. Without it, 40 request
    threads storing at once saw p99 1 s, and a busy inbox worker starved the webhooks. On
    PostgreSQL it does nothing."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    if engine.dialect.name != "sqlite":
        yield
        return
    with _SQLITE_TURNS:
        yield


@dataclass(frozen=True)
class _Statements:
    insert: sa.Insert  # INSERT … ON CONFLICT (dedup_key) DO NOTHING RETURNING id
    lock: sa.Update  # mark processing, return the payload; skips a row another transaction holds
    finish: sa.Update


_STATEMENTS: dict[str, _Statements] = {}


def _statements(session: Session) -> _Statements:
    """The per-message statements of the inbox path, built once per dialect as Core statements:
    through the ORM each cost about 1 ms of Python, more than SQLite's work."""
    dialect = session.get_bind().dialect.name
    if dialect not in _STATEMENTS:
        if dialect not in ("postgresql", "sqlite"):
            raise RuntimeError(f"linli supports SQLite and PostgreSQL, not {dialect}")
        table = table_of(InboxMessage)
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        row = table.c.id == sa.bindparam("inbox_id")
        if dialect == "postgresql":  # skip a row another transaction holds (SQLite has one writer)
            row = table.c.id.in_(sa.select(table.c.id).where(row).with_for_update(skip_locked=True).scalar_subquery())
        unfinished = table.c.status.in_(UNFINISHED)
        _STATEMENTS[dialect] = _Statements(
            insert=insert(table).on_conflict_do_nothing(index_elements=[table.c.dedup_key]).returning(table.c.id),
            lock=sa.update(table).where(row, unfinished).values(status="processing").returning(table.c.payload),
            finish=sa.update(table).where(table.c.id == sa.bindparam("inbox_id"), unfinished).values(
                status=sa.bindparam("new_status"), error=sa.bindparam("new_error"), processed_at=sa.bindparam("now")),
        )
    return _STATEMENTS[dialect]


def _row_values(message: Message, *, claim: bool, now: datetime) -> dict[str, Any]:
    return {
        "dedup_key": dedup_key(message),
        "platform": message.platform,
        "chat_key": message.chat_key,
        "sender_key": message.sender_key,
        "text": message.content,
        "payload": message.model_dump(mode="json"),
        "status": "processing" if claim else "received",
        "attempts": 1 if claim else 0,
        "received_at": now,
        "claimed_at": now if claim else None,
    }


def store_many(session: Session, messages: list[Message]) -> list[tuple[int, bool]]:
    """Group commit: insert many messages (for the inbox worker) in one transaction. Commits.

    Returns (inbox id, is_new) per message, in order. A message whose dedup key is already
    stored, or appears earlier in the same batch, is reported as a duplicate with the id of
    the stored row. One ``INSERT … ON CONFLICT DO NOTHING RETURNING`` for the whole batch
    and one commit (one fsync) instead of one per message."""
    keys = [dedup_key(m) for m in messages]
    with writer_turn(session):
        new_ids = add_many(session, messages)
        session.commit()
    table = table_of(InboxMessage)
    missing = [k for k in dict.fromkeys(keys) if k not in new_ids]
    known: dict[str, int] = {}
    if missing:
        known = dict(session.execute(sa.select(table.c.dedup_key, table.c.id).where(table.c.dedup_key.in_(missing))).all())
        session.commit()
    out: list[tuple[int, bool]] = []
    for key in keys:
        if key in new_ids:  # the first occurrence in the batch is the new one
            known[key] = new_ids.pop(key)
            out.append((known[key], True))
        else:
            out.append((known[key], False))
    return out


def add_many(session: Session, messages: list[Message]) -> dict[str, int]:
    """Insert the messages whose dedup key is new, in the caller's transaction (no commit), as
    ``received`` rows for the inbox worker. Returns {dedup key: inbox id} of the new rows only.
    A channel that must advance its own cursor with the messages (the WeCom chat archive) calls
    it inside its transaction, holding :func:`writer_turn`."""
    now = utcnow()
    rows: dict[str, dict[str, Any]] = {}
    for message in messages:
        values = _row_values(message, claim=False, now=now)
        rows.setdefault(values["dedup_key"], values)
    if not rows:
        return {}
    table = table_of(InboxMessage)
    # executemany of the cached statement: SQLAlchemy's "insertmanyvalues" sends it as
    # multi-row VALUES batches without compiling a new statement per batch size
    insert = _statements(session).insert.returning(table.c.dedup_key)
    return {key: id_ for id_, key in session.connection().execute(insert, list(rows.values())).all()}


def store(session: Session, message: Message, *, claim: bool = False) -> tuple[InboxMessage, bool]:
    """Insert the message unless its dedup key is known. Returns (row, is_new). Commits.

    ``INSERT … ON CONFLICT DO NOTHING`` makes concurrent deliveries of the same message
    (a platform retrying while the first request is still running) race safely: exactly
    one insert wins, the others get the stored row back with ``is_new=False``.
    With ``claim=True`` a new row is stored already counting its first attempt (as
    :func:`claim` would), saving a commit on the usual path: store, then process at once.
    """
    values = _row_values(message, claim=claim, now=utcnow())
    key = values["dedup_key"]
    with writer_turn(session):
        new_id = session.connection().execute(_statements(session).insert, values).scalar()
        session.commit()
    if new_id is not None:
        return InboxMessage(id=new_id, **values), True  # as stored; no second read
    return session.exec(select(InboxMessage).where(InboxMessage.dedup_key == key)).one(), False


def claim(session: Session, inbox_id: int) -> int | None:
    """Count one processing attempt and mark the row ``processing``. Commits.

    Returns the attempt number, or None when the row is finished or another worker is
    processing it right now. This does not grant ownership: :func:`lock_for_processing` does.
    """
    return claim_many(session, [inbox_id]).get(inbox_id)


def claim_many(session: Session, inbox_ids: list[int]) -> dict[int, int]:
    """:func:`claim` for a batch in one statement and one commit: {inbox id: attempt number} of
    the rows that were unfinished and not locked by another worker's effects transaction.

    A row claimed by another worker less than :data:`RECOUNT_AFTER` ago keeps its count (the
    lock in :func:`lock_for_processing` decides who applies it); a received row, or one whose
    claim is older (its worker died), counts one more attempt."""
    if not inbox_ids:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        locked = select(col(InboxMessage.id)).where(col(InboxMessage.id).in_(inbox_ids)).with_for_update(skip_locked=True)
        chosen = col(InboxMessage.id).in_(locked.scalar_subquery())
    else:
        chosen = col(InboxMessage.id).in_(inbox_ids)
    now = utcnow()
    new_attempt = sa.or_(col(InboxMessage.status) == "received", col(InboxMessage.claimed_at).is_(None),
                         col(InboxMessage.claimed_at) < now - RECOUNT_AFTER)
    result = session.execute(
        sa.update(InboxMessage)
        .where(chosen, col(InboxMessage.status).in_(UNFINISHED))
        .values(status="processing",
                claimed_at=sa.case((new_attempt, sa.literal(now, table_of(InboxMessage).c.claimed_at.type)),
                                   else_=InboxMessage.claimed_at),
                attempts=InboxMessage.attempts + sa.case((new_attempt, 1), else_=0))
        .returning(col(InboxMessage.id), col(InboxMessage.attempts))
    )
    attempts = dict(result.all())
    session.commit()
    return attempts


def lock_for_processing(session: Session, inbox_id: int) -> dict[str, Any] | None:
    """Lock an unfinished row inside the caller's (effects) transaction and return its stored
    message payload, or None if it is done or locked by another worker. Call it first in the
    transaction, before any read."""
    return session.connection().execute(_statements(session).lock, {"inbox_id": inbox_id}).scalar()


def finish(session: Session, inbox_id: int, status: str = "done", error: str | None = None) -> bool:
    """Mark processed inside the caller's transaction, together with the effects.

    Only an unfinished row is marked; returns False when it was already finished."""
    result = session.connection().execute(
        _statements(session).finish, {"inbox_id": inbox_id, "new_status": status, "new_error": error, "now": utcnow()}
    )
    return rowcount(result) == 1


def note_error(session: Session, inbox_id: int, error: str) -> None:
    """Record why an attempt failed without finishing the row (it will be retried). Commits."""
    session.execute(
        sa.update(InboxMessage)
        .where(col(InboxMessage.id) == inbox_id, col(InboxMessage.status).in_(UNFINISHED))
        .values(status="received", error=error[:500])
    )
    session.commit()


def unfinished(session: Session, *, older_than: datetime | None = None, limit: int = 100) -> list[int]:
    """Ids of rows accepted but never processed (e.g. the process died), oldest first."""
    q = select(col(InboxMessage.id)).where(col(InboxMessage.status).in_(UNFINISHED))
    if older_than is not None:
        q = q.where(InboxMessage.received_at < older_than)
    return [i for i in session.exec(q.order_by(col(InboxMessage.id)).limit(limit)) if i is not None]


def waiting(session: Session, *, limit: int = 50) -> list[int]:
    """Ids of stored messages no worker has taken yet (deferred ones), oldest first."""
    q = select(col(InboxMessage.id)).where(col(InboxMessage.status) == "received").order_by(col(InboxMessage.id)).limit(limit)
    return [i for i in session.exec(q) if i is not None]


def load_message(row: InboxMessage) -> Message:
    return Message.model_validate(row.payload)
