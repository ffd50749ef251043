"""The inbox: every accepted inbound message is stored once before it is acknowledged.

A message is processed in the same transaction that marks it done, so a crash mid-way
leaves it ``received`` and it is processed again after restart, exactly once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.message import Message, MessageKind
from core.models import InboxMessage, utcnow


def dedup_key(message: Message) -> str:
    """Platform + chat + message id; an edit is a new event of the same message."""
    key = f"{message.platform}:{message.chat_id}:{message.message_id}"
    if message.kind is MessageKind.EDIT:
        key += f":edit:{message.sent_at.timestamp():.0f}"
    elif message.kind is not MessageKind.MESSAGE:
        key += f":{message.kind.value}"
    return key


def store(session: Session, message: Message) -> tuple[InboxMessage, bool]:
    """Insert the message unless its dedup key is known. Returns (row, is_new). Commits."""
    row = InboxMessage(
        dedup_key=dedup_key(message),
        platform=message.platform,
        chat_key=message.chat_key,
        sender_key=message.sender_key,
        text=message.content,
        payload=message.model_dump(mode="json"),
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = session.exec(select(InboxMessage).where(InboxMessage.dedup_key == row.dedup_key)).one()
        return existing, False
    return row, True


def claim(session: Session, inbox_id: int, *, stale_after: timedelta = timedelta(minutes=2)) -> bool:
    """Take a row for processing. Only one worker (of any process) wins; stale claims are retaken."""
    now = utcnow()
    result = session.execute(
        sa.update(InboxMessage)
        .where(InboxMessage.id == inbox_id)
        .where(
            sa.or_(
                InboxMessage.status == "received",
                sa.and_(InboxMessage.status == "processing", InboxMessage.claimed_at < now - stale_after),
            )
        )
        .values(status="processing", claimed_at=now, attempts=InboxMessage.attempts + 1)
    )
    session.commit()
    return result.rowcount == 1


def finish(session: Session, inbox_id: int, status: str = "done", error: str | None = None) -> None:
    """Mark processed (inside the caller's transaction, together with the effects)."""
    session.execute(
        sa.update(InboxMessage).where(InboxMessage.id == inbox_id).values(status=status, error=error, processed_at=utcnow())
    )


def unfinished(session: Session, *, older_than: datetime | None = None, limit: int = 100) -> list[int]:
    """Ids of rows accepted but never processed (e.g. the process died), oldest first."""
    q = select(InboxMessage.id).where(InboxMessage.status.in_(["received", "processing"]))
    if older_than is not None:
        q = q.where(InboxMessage.received_at < older_than)
    return list(session.exec(q.order_by(InboxMessage.id).limit(limit)))


def load_message(row: InboxMessage) -> Message:
    return Message.model_validate(row.payload)
