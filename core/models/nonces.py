"""Webhook nonces seen recently (replay protection); logic in core/nonces.py."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import UTCDateTime


class WebhookNonce(SQLModel, table=True):
    """One nonce seen, e.g. ``wechat:1767225600:1837492``, and the SHA-256 of its body."""

    __tablename__ = "webhook_nonces"
    key: str = Field(primary_key=True, max_length=300)
    digest: str = Field(max_length=64)
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
