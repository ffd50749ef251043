"""Alembic migrations apply on SQLite and PostgreSQL, reach head, and go down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from core.db import _alembic_config, current_revision, head_revision, make_engine, upgrade


def test_upgrade_reaches_head_and_creates_the_tables(empty_database_url):
    database_url = empty_database_url
    upgrade(database_url)
    engine = make_engine(database_url)
    assert current_revision(engine) == head_revision()
    tables = set(sa.inspect(engine).get_table_names())
    assert {"grids", "chats", "people", "tickets", "ticket_reporters", "ticket_events", "inbox", "outbox"} <= tables
    engine.dispose()


def test_downgrade_to_base_and_upgrade_again(empty_database_url):
    database_url = empty_database_url
    upgrade(database_url)
    command.downgrade(_alembic_config(database_url), "base")
    engine = make_engine(database_url)
    assert "tickets" not in sa.inspect(engine).get_table_names()
    upgrade(database_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_upgrade_is_idempotent(empty_database_url):
    database_url = empty_database_url
    upgrade(database_url)
    upgrade(database_url)
    engine = make_engine(database_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
