"""Photos sent with requests and the fetch queue; logic in core/photos.py."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import UTCDateTime, utcnow


class Photo(SQLModel, table=True):
    """One image a person sent, and where its bytes are (see the module doc)."""

    __tablename__ = "photos"
    __table_args__ = (
        sa.Index("ix_photos_due", "state", "next_attempt_at"),
        sa.UniqueConstraint("chat_key", "message_id", "ref_index", name="uq_photos_message_ref"),
    )
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id", index=True)
    role: str = Field(default="report", max_length=16)  # report | result (工作留痕)
    platform: str = Field(max_length=32)
    chat_key: str = Field(max_length=200)
    sender_key: str = Field(max_length=200, index=True)
    message_id: str = Field(max_length=128)
    ref_index: int = 0  # the n-th image of the message
    ref: str = Field(max_length=2000)  # platform file id, media id or URL (never shown to anyone)
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    sha256: str | None = Field(default=None, max_length=64)
    content_type: str | None = Field(default=None, max_length=32)
    size: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    fetched_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
