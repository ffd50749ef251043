"""Follow-up questions the bot asked; logic in core/dialogue.py."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import UTCDateTime, utcnow


class QuestionKind(StrEnum):
    PLACE = "place"  # 「请问具体在哪个位置（几栋几单元/哪个门）？」 for ticket_id
    SURVEY = "survey"  # 「问题解决了吗？」 for ticket_id
    FILE = "file"  # 「需要登记为诉求吗？」 for the message in payload
    SAME_PLACE = "same_place"  # 「和 #N 是同一处吗？」: ticket_id (the new one), payload["master"]


class PendingQuestion(SQLModel, table=True):
    """A question the bot asked one person in one chat (see the module doc)."""

    __tablename__ = "pending_questions"
    __table_args__ = (
        sa.Index("ix_pending_questions_person_asked", "person_key", "asked_at"),
        sa.Index("ix_pending_questions_open_key", "open_key", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    person_key: str = Field(max_length=200)
    chat_key: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    asked_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    # person_key + "\x1f" + chat_key while pending; NULL once settled (unique: one pending per person and chat)
    open_key: str | None = Field(default=None, max_length=401)
    settled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    outcome: str | None = Field(default=None, max_length=16)  # answered | replaced | dropped | expired

    @property
    def kind_enum(self) -> QuestionKind:
        return QuestionKind(self.kind)
