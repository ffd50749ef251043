"""Notices to residents' groups (通知) and the chats each went to; logic in core/notices.py."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import created_column


class Notice(SQLModel, table=True):
    __tablename__ = "notices"
    id: int | None = Field(default=None, primary_key=True)
    grid_id: str = Field(foreign_key="grids.id", max_length=64, index=True)
    sender_key: str = Field(max_length=200)  # the person (platform:user) who sent it
    sender_name: str = ""
    via: str = Field(max_length=32)  # the chat key it was sent from, or "console"
    text: str
    created_at: datetime = created_column()


class NoticeChat(SQLModel, table=True):
    """One residents' group a notice was queued to."""

    __tablename__ = "notice_chats"
    __table_args__ = (sa.UniqueConstraint("notice_id", "chat_key", name="uq_notice_chats"),)
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notices.id", index=True)
    chat_key: str = Field(max_length=200)
    title: str = ""
