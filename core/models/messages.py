"""The inbox (every inbound message, stored before it is acknowledged) and the outbox (every reply)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import created_column, time_column


class InboxMessage(SQLModel, table=True):
    """Every accepted inbound message, stored before it is acknowledged (idempotent on dedup_key)."""

    __tablename__ = "inbox"
    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=400, unique=True)
    platform: str = Field(max_length=32)
    chat_key: str = Field(max_length=200, index=True)
    sender_key: str = Field(max_length=200)
    text: str = ""
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    status: str = Field(default="received", max_length=16, index=True)  # received|processing|done|ignored|failed
    attempts: int = 0
    error: str | None = None
    received_at: datetime = created_column()
    claimed_at: datetime | None = time_column()
    processed_at: datetime | None = time_column()


class OutboxMessage(SQLModel, table=True):
    """Every reply, written in the transaction that caused it, delivered by the outbox worker."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=400, unique=True)
    platform: str = Field(max_length=32)
    chat_key: str = Field(max_length=200, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    ticket_id: int | None = Field(default=None, index=True)
    inbox_id: int | None = Field(default=None, index=True)
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    attempts: int = 0
    last_error: str | None = None
    platform_message_id: str | None = None
    created_at: datetime = created_column()
    next_attempt_at: datetime = created_column()
    sent_at: datetime | None = time_column()
