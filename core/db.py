"""Engines, sessions and migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlmodel import Session as Session  # re-exported: callers write db.Session

from core.models.base import table_of as table_of  # re-exported: callers write db.table_of

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "postgres")


class _Keyed(Protocol):
    id: int | None


def pk(row: _Keyed) -> int:
    """The primary key of a stored row (``id`` is None only until the session is flushed)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush the session first")
    return row.id


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE run with ``Session.execute`` (typed there as a plain Result)."""
    return cast("CursorResult[Any]", result).rowcount


class DatabaseUrlError(ValueError):
    """LINLI_DATABASE_URL names a database linli does not run on (or is not a URL)."""


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs; refuse databases other than SQLite and PostgreSQL."""
    if url.split("://", 1)[0] not in SCHEMES or "://" not in url:
        raise DatabaseUrlError("linli runs on SQLite or PostgreSQL: use sqlite:////path/to/linli.sqlite3 or "
                               "postgresql://user:password@host:5432/name")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _make_sqlite_dir(url: str) -> None:
    """SQLite cannot create the directory of its file: make it (a fresh LINLI_DATA_DIR)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str, *, busy_timeout: float = 30.0) -> Engine:
    """An engine with the pragmas linli relies on: WAL, foreign keys and a busy timeout on SQLite.

    A SQLite writer waits up to ``busy_timeout`` seconds for the single write lock (SQLite's busy
    handler, by time, not by a count of tries); past that the request fails as contention
    (:func:`is_contention`), which the app answers with 503."""
    url = normalise_url(url)
    _make_sqlite_dir(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - exercised by every test
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


# PostgreSQL: deadlock detected, serialization failure, lock not available (lock_timeout)
_PG_CONTENTION = frozenset({"40P01", "40001", "55P03"})


def is_contention(exc: BaseException) -> bool:
    """Did a statement fail only because other transactions held what it needed (SQLite's
    "database is locked" after the busy timeout, a PostgreSQL deadlock or serialization
    failure)? Its transaction changed nothing, and the same request may simply be tried again."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, sqlite3.OperationalError):
        return "database is locked" in str(orig) or "database is busy" in str(orig)
    return getattr(orig, "sqlstate", None) in _PG_CONTENTION


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (``linli db upgrade``; ``linli serve`` runs it on start)."""
    from alembic import command

    _make_sqlite_dir(normalise_url(url))
    command.upgrade(_alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    assert head is not None, "no migrations found"
    return head
