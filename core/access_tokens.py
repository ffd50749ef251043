"""Short-lived platform credentials shared by every instance: access tokens and reply URLs.

Hand-written lease (a conditional UPDATE, or Redis SET NX): one instance refreshes a token while
the others wait for its result, which no cache library does across processes without a new server.

WeChat and WeCom hand out one access token per app at a time (fetching a new one retires
the old), so all instances must share it. It lives in the ``access_tokens`` table, or in
Redis when ``LINLI_REDIS_URL`` is set. The same table keeps the WeCom AI bot's one-shot
``response_url`` values, which must be taken by exactly one sender.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.db import rowcount
from core.models import AccessToken, utcnow

EXPIRED_KEPT = timedelta(days=1)
"""An expired token is deleted this long after it expired (core.maintenance.purge, hourly)."""


class DatabaseTokenStore:
    """Access tokens in the shared database (the default)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.clock = clock

    def get(self, key: str) -> tuple[str, datetime] | None:
        with Session(self.engine) as session:
            row = session.get(AccessToken, key)
            return (row.token, row.expires_at) if row and row.token else None

    def put(self, key: str, token: str, expires_at: datetime) -> None:
        with Session(self.engine) as session:
            row = session.get(AccessToken, key) or AccessToken(key=key, token=token, expires_at=expires_at)
            row.token, row.expires_at, row.lease_until = token, expires_at, None
            session.add(row)
            session.commit()

    def lease(self, key: str, seconds: float) -> bool:
        """Become the one instance that refreshes ``key`` for ``seconds``; False if another holds it."""
        now = self.clock()
        until = now + timedelta(seconds=seconds)
        with Session(self.engine) as session:
            if session.get(AccessToken, key) is None:
                session.add(AccessToken(key=key, token="", expires_at=now, lease_until=until))
                try:
                    session.commit()
                    return True
                except sa.exc.IntegrityError:
                    session.rollback()
            result = session.execute(
                sa.update(AccessToken)
                .where(col(AccessToken.key) == key)
                .where(sa.or_(col(AccessToken.lease_until).is_(None), col(AccessToken.lease_until) < now))
                .values(lease_until=until)
            )
            session.commit()
            return rowcount(result) == 1

    def drop(self, key: str, token: str) -> None:
        """Forget ``token`` (rejected by the platform) unless another instance already replaced it."""
        with Session(self.engine) as session:
            session.execute(
                sa.update(AccessToken).where(col(AccessToken.key) == key, col(AccessToken.token) == token)
                .values(token="", expires_at=self.clock())
            )
            session.commit()

    # -- one-shot values (WeCom AI bot response_url) ----------------------------------------

    def remember(self, key: str, value: str, ttl: timedelta) -> None:
        self.put(key, value, self.clock() + ttl)

    def take(self, key: str) -> str | None:
        """Remove and return an unexpired value; exactly one caller gets it."""
        with Session(self.engine) as session:
            row = session.get(AccessToken, key)
            if row is None or not row.token or row.expires_at <= self.clock():
                return None
            result = session.execute(sa.delete(AccessToken).where(col(AccessToken.key) == key, col(AccessToken.token) == row.token))
            session.commit()
            return row.token if rowcount(result) == 1 else None

    def take_newest(self, prefix: str) -> str | None:
        """Take the unexpired value under ``prefix`` that lives longest (the most recent one)."""
        with Session(self.engine) as session:
            keys = list(session.exec(
                select(AccessToken.key)
                .where(col(AccessToken.key).startswith(prefix, autoescape=True), col(AccessToken.expires_at) > self.clock())
                .order_by(col(AccessToken.expires_at).desc()).limit(5)
            ))
        for key in keys:
            value = self.take(key)
            if value:
                return value
        return None


class RedisTokenStore:
    """Access tokens in Redis (``LINLI_REDIS_URL``): same contract, keys expire by themselves."""

    PREFIX = "linli:token:"

    def __init__(self, url: str, clock: Callable[[], datetime] = utcnow):
        import redis

        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self.clock = clock

    def get(self, key: str) -> tuple[str, datetime] | None:
        data = self.redis.hgetall(self.PREFIX + key)
        if not data.get("token"):
            return None
        return data["token"], datetime.fromisoformat(data["expires_at"])

    def put(self, key: str, token: str, expires_at: datetime) -> None:
        name = self.PREFIX + key
        ttl = max(1, int((expires_at - self.clock()).total_seconds()))
        pipe = self.redis.pipeline()
        pipe.hset(name, mapping={"token": token, "expires_at": expires_at.isoformat()})
        pipe.expire(name, ttl)
        pipe.delete(name + ":lease")
        pipe.execute()

    def lease(self, key: str, seconds: float) -> bool:
        return bool(self.redis.set(self.PREFIX + key + ":lease", "1", nx=True, px=int(seconds * 1000)))

    def drop(self, key: str, token: str) -> None:
        name = self.PREFIX + key
        if self.redis.hget(name, "token") == token:
            self.redis.delete(name)
