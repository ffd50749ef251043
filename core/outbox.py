"""The outbox: replies are written with the change that caused them, then delivered with retries.

Hand-written, not a task queue library: the per-platform rate limits must hold across every
instance, budgeted from the database's own rows (bench/cluster.py measures it); no queue offers that.

Delivery is at-least-once towards the platform and exactly-once in our records:

- :func:`enqueue` adds a row inside the caller's transaction; a unique ``dedup_key`` keeps
  a reply from being queued twice.
- :func:`claim_due` leases due rows to one sender (``sending`` until ``next_attempt_at``);
  a crashed sender's rows become due again when the lease ends. Senders must give up on a
  call well before the lease ends (adapters time out in seconds, the lease is a minute).
- Per-platform rate limits (``adapters.base.RateLimit``) hold across every instance: claims are
  serialised by a database lock and budgeted from the rows the database says were sent
  (or are being sent) in the last minute per chat and the last second per platform.
  Nothing is kept in process memory, so two instances share one budget.
- :func:`mark_failed` retries with exponential backoff and jitter; a rate-limited answer
  (HTTP 429 with ``retry_after``) is not counted as a failed attempt. After
  :data:`MAX_ATTEMPTS` failures, or a non-retryable one, the row is ``failed`` with
  ``last_error`` saying why (the console shows it).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core import locks
from core.db import pk, rowcount, table_of
from core.message import OutgoingReply
from core.models import OutboxMessage, UTCDateTime, utcnow

MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 300.0
LEASE = timedelta(seconds=60)
CHAT_WINDOW = timedelta(minutes=1)
GLOBAL_WINDOW = timedelta(seconds=1)


def enqueue(
    session: Session, reply: OutgoingReply, *, dedup_key: str | None = None,
    ticket_id: int | None = None, inbox_id: int | None = None, at: datetime | None = None,
) -> OutboxMessage | None:
    """Add a reply to the caller's transaction. A reply with a known dedup key is not added twice."""
    payload = reply.model_dump(mode="json")
    if dedup_key is None:
        digest = hashlib.sha256(repr(sorted(payload.items())).encode()).hexdigest()[:24]
        dedup_key = f"{inbox_id or 'x'}:{digest}"
    exists = session.exec(select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)).first()
    if exists is not None:
        return None
    now = at or utcnow()
    row = OutboxMessage(
        dedup_key=dedup_key, platform=reply.platform, chat_key=reply.chat_key, payload=payload,
        ticket_id=ticket_id, inbox_id=inbox_id, created_at=now, next_attempt_at=now,
    )
    session.add(row)
    return row


def _serialise_claims(session: Session) -> None:
    """Take the claim lock for the rest of the transaction (every instance queues behind it)."""
    locks.for_transaction(session, "outbox-claim", sqlite_table=table_of(OutboxMessage))


def _in_window(now: datetime, window: timedelta) -> sa.ColumnElement[bool]:
    """Rows that used the platform's budget in the window: sent in it, or being sent now."""
    return sa.or_(
        sa.and_(col(OutboxMessage.status) == "sent", col(OutboxMessage.sent_at) > now - window),
        sa.and_(col(OutboxMessage.status) == "sending", col(OutboxMessage.next_attempt_at) > now),
    )


def _chat_usage(session: Session, chat_keys: set[str], now: datetime) -> dict[str, tuple[int, datetime | None]]:
    """Per chat: how many sends in the last minute, and when the oldest of them leaves the window."""
    if not chat_keys:
        return {}
    oldest = sa.type_coerce(sa.func.min(sa.case((col(OutboxMessage.status) == "sent", col(OutboxMessage.sent_at)), else_=None)), UTCDateTime())
    rows = session.execute(
        sa.select(col(OutboxMessage.chat_key), sa.func.count(), oldest)
        .where(col(OutboxMessage.chat_key).in_(chat_keys), _in_window(now, CHAT_WINDOW))
        .group_by(OutboxMessage.chat_key)
    ).all()
    return {key: (n, first) for key, n, first in rows}


def _platform_usage(session: Session, platforms: set[str], now: datetime) -> Counter[str]:
    if not platforms:
        return Counter()
    rows = session.execute(
        sa.select(col(OutboxMessage.platform), sa.func.count())
        .where(col(OutboxMessage.platform).in_(platforms), _in_window(now, GLOBAL_WINDOW))
        .group_by(OutboxMessage.platform)
    ).all()
    return Counter({p: n for p, n in rows})


def claim_due(
    session: Session, platform: str | None = None, limit: int = 20, lease: timedelta = LEASE, *,
    now: datetime | None = None, limits: Mapping[str, Any] | None = None,
) -> list[OutboxMessage]:
    """Lease due rows for delivery, within each platform's rate limits. Commits.

    Rows of a chat that has used its minute's budget are deferred (``next_attempt_at`` moves
    to when the window frees up) without counting an attempt, so a busy chat cannot starve
    the others. ``limits`` maps platform → ``adapters.base.RateLimit`` (read by field name: core does not
    import adapters).
    """
    now = now or utcnow()
    limits = limits or {}
    _serialise_claims(session)
    q = select(OutboxMessage).where(
        col(OutboxMessage.status).in_(["pending", "sending"]), col(OutboxMessage.next_attempt_at) <= now,
    )
    if platform:
        q = q.where(OutboxMessage.platform == platform)
    candidates = list(session.exec(q.order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id)).limit(limit * 4)))
    limited_chats = {r.chat_key for r in candidates if getattr(limits.get(r.platform), "per_chat_per_minute", None)}
    limited_platforms = {r.platform for r in candidates if getattr(limits.get(r.platform), "global_per_second", None)}
    chat_used = _chat_usage(session, limited_chats, now)
    platform_used = _platform_usage(session, limited_platforms, now)
    chosen: list[int] = []
    deferred: dict[datetime, list[int]] = {}
    for row in candidates:
        if len(chosen) >= limit:
            break
        lim = limits.get(row.platform)
        per_chat = getattr(lim, "per_chat_per_minute", None)
        per_second = getattr(lim, "global_per_second", None)
        if per_chat:
            used, oldest = chat_used.get(row.chat_key, (0, None))
            if used >= per_chat:
                free_at = (oldest + CHAT_WINDOW) if oldest else now + lease
                deferred.setdefault(max(free_at, now + timedelta(milliseconds=50)), []).append(pk(row))
                continue
        if per_second and platform_used[row.platform] >= max(1, int(per_second * GLOBAL_WINDOW.total_seconds())):
            continue  # stays due; the next claim (a fraction of a second later) takes it
        if per_chat:
            used, oldest = chat_used.get(row.chat_key, (0, None))
            chat_used[row.chat_key] = (used + 1, oldest)
        platform_used[row.platform] += 1
        chosen.append(pk(row))
    for free_at, ids in deferred.items():
        session.execute(sa.update(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).values(status="pending", next_attempt_at=free_at))
    if chosen:
        session.execute(
            sa.update(OutboxMessage).where(col(OutboxMessage.id).in_(chosen))
            .values(status="sending", next_attempt_at=now + lease, attempts=OutboxMessage.attempts + 1)
        )
    session.commit()
    if not chosen:
        return []
    return list(session.exec(
        select(OutboxMessage).where(col(OutboxMessage.id).in_(chosen)).order_by(col(OutboxMessage.id)).execution_options(populate_existing=True)
    ))


def _leased_by(row: OutboxMessage) -> sa.ColumnElement[bool]:
    """The row as this sender claimed it: still ``sending`` at the same attempt (its lease)."""
    return sa.and_(col(OutboxMessage.id) == row.id, col(OutboxMessage.status) == "sending", col(OutboxMessage.attempts) == row.attempts)


def mark_sent(session: Session, row: OutboxMessage | int, platform_message_id: str | None = None, *, now: datetime | None = None) -> bool:
    """Record a successful send. Commits. False if the lease was lost (another sender retook it).

    ``row`` is the claimed row (checked against its lease), or an id (unconditional)."""
    cond = _leased_by(row) if isinstance(row, OutboxMessage) else col(OutboxMessage.id) == row
    result = session.execute(
        sa.update(OutboxMessage).where(cond)
        .values(status="sent", sent_at=now or utcnow(), platform_message_id=platform_message_id, last_error=None)
    )
    session.commit()
    return rowcount(result) == 1


def mark_passive(session: Session, ids: list[int], *, now: datetime | None = None) -> list[int]:
    """Mark still-pending rows as sent in the platform's HTTP answer (a passive reply). Commits.

    Returns the ids it marked; a row the outbox worker already claimed is left to it (it
    will be sent normally), so a reply is never sent twice."""
    marked = []
    for outbox_id in ids:
        result = session.execute(
            sa.update(OutboxMessage).where(col(OutboxMessage.id) == outbox_id, col(OutboxMessage.status) == "pending")
            .values(status="sent", sent_at=now or utcnow(), platform_message_id="passive", last_error=None)
        )
        if rowcount(result) == 1:
            marked.append(outbox_id)
    session.commit()
    return marked


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before retry ``attempts + 1``: 1, 2, 4 … capped at 5 minutes, plus up to 25 % jitter."""
    base = min(2.0 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    return base * (1 + 0.25 * (rng or random).random())


def mark_failed(
    session: Session, row: OutboxMessage, reason: str, *, retryable: bool, retry_after: float | None = None,
    now: datetime | None = None,
) -> str:
    """Schedule a retry with exponential backoff, or give up (visible in the console with the reason).

    A rate-limited answer (``retry_after`` given) waits as told and does not use up an
    attempt. Returns the row's new status (``pending`` or ``failed``). Commits."""
    now = now or utcnow()
    rate_limited = retryable and retry_after is not None
    attempts = row.attempts - 1 if rate_limited else row.attempts
    give_up = not retryable or attempts >= MAX_ATTEMPTS
    delay = retry_after if retryable and retry_after is not None else backoff(attempts)
    status = "failed" if give_up else "pending"
    prefix = "gave up" if give_up and retryable else ("refused" if give_up else f"attempt {attempts} failed")
    session.execute(
        sa.update(OutboxMessage).where(_leased_by(row)).values(
            status=status, attempts=attempts,
            last_error=f"{prefix}: {reason}"[:500],
            next_attempt_at=now + timedelta(seconds=delay),
        )
    )
    session.commit()
    return status


def reply_of(row: OutboxMessage) -> OutgoingReply:
    return OutgoingReply.model_validate(row.payload)
