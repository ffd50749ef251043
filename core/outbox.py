"""The outbox: replies are written with the change that caused them, then delivered with retries."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from core.message import OutgoingReply
from core.models import OutboxMessage, utcnow

MAX_ATTEMPTS = 8


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


def claim_due(session: Session, platform: str | None = None, limit: int = 20, lease: timedelta = timedelta(seconds=60)) -> list[OutboxMessage]:
    """Claim due rows for delivery. A claim is a lease: a crashed sender's rows become due again."""
    now = utcnow()
    q = select(OutboxMessage.id).where(
        sa.or_(OutboxMessage.status == "pending", OutboxMessage.status == "sending"),
        OutboxMessage.next_attempt_at <= now,
    )
    if platform:
        q = q.where(OutboxMessage.platform == platform)
    ids = list(session.exec(q.order_by(OutboxMessage.id).limit(limit)))
    claimed: list[OutboxMessage] = []
    for oid in ids:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == oid, OutboxMessage.next_attempt_at <= now,
                   OutboxMessage.status.in_(["pending", "sending"]))
            .values(status="sending", next_attempt_at=now + lease, attempts=OutboxMessage.attempts + 1)
        )
        if result.rowcount == 1:
            claimed.append(oid)
    session.commit()
    if not claimed:
        return []
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)))


def mark_sent(session: Session, outbox_id: int, platform_message_id: str | None = None) -> None:
    session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.id == outbox_id)
        .values(status="sent", sent_at=utcnow(), platform_message_id=platform_message_id, last_error=None)
    )
    session.commit()


def mark_failed(session: Session, row: OutboxMessage, reason: str, *, retryable: bool, retry_after: float | None = None) -> None:
    """Schedule a retry with exponential backoff, or give up (visible in the console with the reason)."""
    give_up = not retryable or row.attempts >= MAX_ATTEMPTS
    delay = retry_after if retry_after is not None else min(2 ** row.attempts, 300)
    session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.id == row.id).values(
            status="failed" if give_up else "pending",
            last_error=reason[:500],
            next_attempt_at=utcnow() + timedelta(seconds=delay),
        )
    )
    session.commit()


def reply_of(row: OutboxMessage) -> OutgoingReply:
    return OutgoingReply.model_validate(row.payload)
