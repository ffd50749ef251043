"""WeCom chat archive: the pull cursor, kept records, consent, answers waiting to be posted; logic in core/archive.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import UTCDateTime, created_column


class ArchiveCursor(SQLModel, table=True):
    """The last ``seq`` stored, per archive (corp id)."""

    __tablename__ = "archive_cursor"
    source: str = Field(primary_key=True, max_length=64)
    seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default="0"))
    updated_at: datetime = created_column()


class ArchiveRecord(SQLModel, table=True):
    """A record that did not reach the bot, with the reason: ``bad`` (undecryptable, unknown
    key version, malformed JSON; ``record`` keeps the encrypted record to retry once fixed) or
    ``skipped`` (no consent, recalled, too long; the content is not kept)."""

    __tablename__ = "archive_records"
    id: int | None = Field(default=None, primary_key=True)
    msgid: str = Field(max_length=128, unique=True)
    seq: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    kind: str = Field(max_length=16, index=True)  # bad | skipped
    reason: str = Field(max_length=500)
    publickey_ver: int | None = None
    chat_key: str | None = Field(default=None, max_length=200)
    sender: str | None = Field(default=None, max_length=128)
    record: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    created_at: datetime = created_column()


class ArchiveConsent(SQLModel, table=True):
    """A resident's latest 「同意会话聊天内容」 answer (agree or disagree)."""

    __tablename__ = "archive_consent"
    user_id: str = Field(primary_key=True, max_length=128)
    agreed: bool
    changed_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    msgid: str = Field(max_length=128)


class ArchiveAnswer(SQLModel, table=True):
    """A bot answer for a customer group, handed to the group's owner to post (``via`` app:
    a ready-to-send message; mass: a 企业群发 the owner confirms). ``waiting`` until the
    archive shows it posted in the group."""

    __tablename__ = "archive_answers"
    __table_args__ = (sa.Index("ix_archive_answers_chat_status", "chat_key", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    chat_key: str = Field(max_length=200)
    group_title: str = ""
    text: str
    owners: str = Field(max_length=500)  # WeCom userids, '|'-separated
    via: str = Field(max_length=8)  # app | mass
    status: str = Field(default="waiting", max_length=16)  # waiting | posted
    relayed_at: datetime = created_column()
    posted_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    posted_msgid: str | None = Field(default=None, max_length=128)
