"""The migrations build exactly the schema the models declare (SQLite and PostgreSQL): what
``alembic check`` does, so a model changed without a migration (or the reverse) fails here."""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import core.models  # noqa: F401 - registers every table (it imports the other table modules)
from core.db import make_engine, upgrade


def _plain(default: str | None) -> str | None:
    """A server default as SQL text without the wrapping SQLite adds: ``('')`` is ``''``."""
    if default is None:
        return None
    text = default.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return re.sub(r"^'(.*)'$", r"\1", text)


def _server_defaults_differ(context, inspected_column, metadata_column, inspected_default, metadata_default,
                            rendered_metadata_default) -> bool | None:
    if context.dialect.name != "sqlite":
        return None  # alembic's own comparison
    return _plain(inspected_default) != _plain(rendered_metadata_default)


def _for_this_dialect(dialect: str):
    """Skip schema items the models create only on another dialect (``.ddl_if(dialect=…)``)."""
    def include(obj, name, type_, reflected, compare_to) -> bool:
        ddl_if = getattr(obj, "_ddl_if", None)
        return ddl_if is None or ddl_if.dialect in (None, dialect)
    return include


def _differences(database_url: str, metadata: sa.MetaData) -> list:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "compare_server_default": _server_defaults_differ,
                "include_object": _for_this_dialect(conn.dialect.name),
            })
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_the_migrated_schema_is_the_models_schema(empty_database_url):
    differences = _differences(empty_database_url, SQLModel.metadata)
    assert differences == [], "models and migrations differ; add a migration:\n" + "\n".join(map(str, differences))


def test_a_model_change_without_a_migration_is_caught(database_url):
    changed = sa.MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["tickets"].append_column(sa.Column("mood", sa.String(16)))
    changed.tables["chats"].c.place.server_default = sa.DefaultClause("3栋")
    differences = _differences(database_url, changed)
    found = {(d[0], d[2], d[3].name) for d in differences if isinstance(d, tuple) and d[0] == "add_column"}
    found |= {(d[0], d[2], d[3]) for group in differences if isinstance(group, list) for d in group}
    assert {("add_column", "tickets", "mood"), ("modify_default", "chats", "place")} <= found
