"""Database-wide locks between linli processes sharing one database: every lock is declared here.

Three ways to hold one, each on PostgreSQL (advisory locks) and SQLite (``flock`` on a file
beside the database, or the database's own writer lock):

- :class:`HeldLock`: taken with a non-blocking try and held while the process lives (one
  sweeper, one chat-archive puller). PostgreSQL releases it when the
  holding connection dies, so a crashed instance's duty passes to another.
- :func:`waiting_for`: a blocking lock around a block (start-up: one instance migrates at a time).
- :func:`for_transaction`: held until the caller's transaction ends (outbox claims).

An in-memory SQLite database is private to its process: the locks are then always granted.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

# Advisory lock keys: "linli" in ASCII, then two letters for the duty. bench/cluster.py counts the sweep's.
KEYS: dict[str, int] = {
    "sweep": 0x6C696E6C69,  # SLA sweeps and reports (bots.scheduler)
    "startup": 0x6C696E6C69_7570,  # "up": migrations and the grids file at start-up (bots.runtime)
    "outbox-claim": 0x6C696E6C69_6F62,  # "ob": claiming outbox rows within the shared rate limits (core.outbox)
    "wecom-archive": 0x6C696E6C69_6172,  # "ar": pulling the WeCom chat archive
    "wecom-bot-websocket": 0x6C696E6C69_7773,  # "ws": the WeCom AI bot's one long connection
}


def key_of(name: str) -> int:
    """The advisory lock key of a declared lock (a KeyError names an undeclared one)."""
    return KEYS[name]


def _lock_file(engine: Engine, name: str) -> Path | None:
    """The file beside a SQLite database whose ``flock`` stands for the lock; None for a private database."""
    database = engine.url.database
    if engine.dialect.name == "postgresql" or not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + f".{name}.lock")


class HeldLock:
    """A lock one process takes and keeps. ``acquire()`` is cheap to call on every tick and
    re-entrant for its holder; ``release()`` lets another process take it."""

    def __init__(self, engine: Engine, *, name: str = "sweep", key: int | None = None):
        self.engine = engine
        self.name = name
        self.key = key if key is not None else key_of(name)
        self._conn: sa.Connection | None = None
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        """True when this process holds the lock (taking it if it is free)."""
        if self.engine.dialect.name == "postgresql":
            return self._acquire_postgres()
        return self._acquire_file()

    def _acquire_postgres(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT 1"))
                return True
            except sa.exc.DBAPIError:  # the connection died, and with it our lock
                self._drop_conn()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar():
            self._conn = conn
            return True
        conn.close()
        return False

    def _acquire_file(self) -> bool:
        if self._file is not None:
            return True
        path = _lock_file(self.engine, self.name)
        if path is None:
            return True  # a private database: nobody else can use it
        handle = open(path, "a+")  # noqa: SIM115 - kept open while the lock is held
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def _drop_conn(self) -> None:
        try:
            if self._conn is not None:
                self._conn.close()
        except Exception:  # noqa: BLE001 - already broken
            pass
        self._conn = None

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            except sa.exc.DBAPIError:
                pass
            self._drop_conn()
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


@contextmanager
def waiting_for(engine: Engine, name: str) -> Iterator[None]:
    """Hold the lock ``name`` around the block, waiting for whoever holds it now."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key_of(name)})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key_of(name)})
        return
    path = _lock_file(engine, name)
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def for_transaction(session: Session, name: str, *, sqlite_table: sa.Table) -> None:
    """Take the lock ``name`` until the session's transaction ends (every instance queues behind it).

    SQLite has one writer at a time: any write takes its lock until commit, so a no-op update of
    ``sqlite_table`` (a row that cannot exist) stands for the lock there."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key_of(name)})
    else:
        session.execute(sa.update(sqlite_table).where(sqlite_table.c.id == -1).values(id=-1))
