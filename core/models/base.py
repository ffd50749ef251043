"""What every table module shares: the clock, and column types that store times as UTC and enums as codes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Now, aware, in UTC (what every stored time is)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without zone (portable across SQLite and PostgreSQL), returns aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class StrEnumColumn(TypeDecorator[Any]):
    """Stores a StrEnum as its code (a plain string column), returns the enum member."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum_cls: type, length: int = 32):
        super().__init__(length)
        self.enum_cls = enum_cls

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else self.enum_cls(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else self.enum_cls(value)


def time_column(nullable: bool = True, index: bool = False) -> Any:
    """A time field, empty by default (a deadline, a last-used time)."""
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def created_column() -> Any:
    """A time field set to now when the row is made."""
    return Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))


def table_of(model: type[SQLModel]) -> sa.Table:
    """The table of a SQLModel table class, typed (SQLModel does not declare ``__table__`` to type checkers)."""
    table = sa.inspect(model).local_table
    assert isinstance(table, sa.Table), model
    return table
