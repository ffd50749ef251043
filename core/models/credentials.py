"""Shared platform credentials (WeChat/WeCom access tokens, AI-bot reply URLs); logic in core/access_tokens.py."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import UTCDateTime


class AccessToken(SQLModel, table=True):
    """One credential by key, e.g. ``wechat:<app id>`` or ``wecom-bot:reply:<chat>:<msgid>``."""

    __tablename__ = "access_tokens"
    key: str = Field(primary_key=True, max_length=300)
    token: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    lease_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
