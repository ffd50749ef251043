"""Webhook nonces seen recently, shared by every instance: what replay protection remembers.

A signed platform callback carries a timestamp and a nonce. Each (channel, timestamp, nonce)
is remembered with a digest of the body it first came with until its timestamp can no longer
pass the freshness check, in the ``webhook_nonces`` table (one row per key, unique) or in
Redis when ``LINLI_REDIS_URL`` is set. What a repeat means is decided by the caller
(:func:`adapters.wx_common.check_replay`); the stores only answer "new, or first seen with
which digest", atomically across instances.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from core.db import rowcount, table_of
from core.models import WebhookNonce, utcnow

_INSERT: dict[str, Callable[[sa.Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert, "sqlite": sqlite.insert}


class DatabaseNonceStore:
    """Nonces in the shared database (the default). Expired rows are deleted by whichever
    instance next claims a nonce once ``purge_every`` has passed since its own last purge."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow, purge_every: float = 60.0):
        if engine.dialect.name not in _INSERT:
            raise ValueError(f"webhook nonces need SQLite or PostgreSQL, not {engine.dialect.name}")
        self.engine = engine
        self.clock = clock
        self.purge_every = purge_every
        self._next_purge = 0.0  # monotonic; only when this process purges, never needed by another

    def claim(self, key: str, digest: str, ttl: timedelta) -> str | None:
        """Remember ``key`` with ``digest`` for ``ttl``. None when the key is new (or its row had
        expired), else the digest it was first claimed with. Atomic: of two instances claiming
        the same key at once, exactly one gets None."""
        now = self.clock()
        self._purge_if_due(now)
        expires_at = now + ttl
        table = table_of(WebhookNonce)
        insert = (_INSERT[self.engine.dialect.name](table).values(key=key, digest=digest, expires_at=expires_at)
                  .on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key))
        take_over = (sa.update(table).where(table.c.key == key, table.c.expires_at <= now)  # a row past its expiry counts as unseen
                     .values(digest=digest, expires_at=expires_at).returning(table.c.key))
        with Session(self.engine) as session:
            for _ in range(2):  # the first row may be purged between the insert and the select: then claim again
                claimed = session.execute(insert).first() or session.execute(take_over).first()
                session.commit()
                if claimed:
                    return None
                first = session.execute(sa.select(table.c.digest).where(table.c.key == key)).scalar_one_or_none()
                if first is not None:
                    return str(first)
        return None

    def _purge_if_due(self, now: datetime) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + self.purge_every
        self.purge_expired(now)

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete the rows whose nonces can no longer be replayed; returns how many."""
        with Session(self.engine) as session:
            deleted = rowcount(session.execute(sa.delete(WebhookNonce).where(col(WebhookNonce.expires_at) <= (now or self.clock()))))
            session.commit()
            return deleted


class RedisNonceStore:
    """Nonces in Redis (``LINLI_REDIS_URL``): ``SET NX`` with an expiry, so nothing needs purging."""

    PREFIX = "linli:nonce:"

    def __init__(self, url: str):
        import redis

        self.redis = redis.Redis.from_url(url, decode_responses=True)

    def claim(self, key: str, digest: str, ttl: timedelta) -> str | None:
        name = self.PREFIX + key
        for _ in range(2):  # the key may expire between SET NX and GET: then claim again
            if self.redis.set(name, digest, nx=True, px=max(1, int(ttl.total_seconds() * 1000))):
                return None
            first = self.redis.get(name)
            if first is not None:
                return first
        return digest
