"""Photos sent with requests (and a grid worker's result photo, 工作留痕), kept with their ticket.

A photo is a row first and bytes later, so nothing is lost when a download fails:

- :func:`record` adds a ``pending`` row per image reference, inside the transaction that handled
  the message (the same one that created or joined the ticket). A row with no ticket yet
  (a photo sent just before the words) waits for one: :func:`adopt` gives it the ticket
  the same person files in the same chat within :data:`ADOPT_WINDOW`.
- :func:`claim_due` leases due rows to one fetcher with a single guarded ``UPDATE`` per row
  (``pending`` → ``fetching`` at the row's current attempt count), so two workers never
  fetch the same photo at once; a crashed fetcher's row is due again when its lease ends.
- :func:`mark_fetched` records the content address (sha256), type and size;
  :func:`mark_failed` retries with backoff (:func:`backoff`) or gives up with the reason.

Content is checked by its first bytes (:func:`sniff`), never by the name or header the sender gave.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.db import pk, rowcount
from core.models import Photo, utcnow

MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=2)  # a fetch times out well before this (adapters use seconds)
ADOPT_WINDOW = timedelta(minutes=5)  # a photo sent this long before the words joins their ticket
RESULT_WINDOW = timedelta(minutes=5)  # a worker's photo this long after 办结 is the result photo
STATES = ("pending", "fetching", "fetched", "failed")
MAX_REF_CHARS = 2000
ROLES = ("report", "result")


# -- content checks -----------------------------------------------------------------------------

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


def sniff(head: bytes) -> str | None:
    """The image type of content from its first bytes (JPEG, PNG, WebP, GIF, HEIC), None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "image/heic"
    return None


class Refused(ValueError):
    """Content that will never be kept (too big, not an image): the row fails at once with this reason."""


def check_content(data: bytes, max_bytes: int) -> str:
    """The content type of acceptable image bytes; :class:`Refused` says why others are not kept."""
    if len(data) > max_bytes:
        raise Refused(f"too big: {len(data)} bytes, the limit is {max_bytes} (LINLI_PHOTOS_MAX_BYTES)")
    if not data:
        raise Refused("empty file")
    kind = sniff(data[:16])
    if kind is None:
        raise Refused(f"not an image (JPEG, PNG, WebP, GIF or HEIC); it starts with {data[:8].hex()}")
    return kind


# -- recording -----------------------------------------------------------------------------------


def record(session: Session, *, platform: str, chat_key: str, sender_key: str, message_id: str, refs: list[str],
           ticket_id: int | None, role: str = "report", now: datetime | None = None) -> list[Photo]:
    """Add a pending row per reference to the caller's transaction (a message's refs are recorded once)."""
    now = now or utcnow()
    known = set(session.exec(select(Photo.ref_index).where(Photo.chat_key == chat_key, Photo.message_id == message_id)))
    rows: list[Photo] = []
    for i, ref in enumerate(refs):
        if i in known or not ref:
            continue
        row = Photo(ticket_id=ticket_id, role=role, platform=platform, chat_key=chat_key, sender_key=sender_key,
                    message_id=message_id, ref_index=i, ref=ref[:MAX_REF_CHARS], created_at=now, next_attempt_at=now)
        if len(ref) > MAX_REF_CHARS:  # kept and shown as failed, never fetched from a cut-off address
            row.state, row.last_error = "failed", f"refused: the platform's reference is over {MAX_REF_CHARS} characters"
        session.add(row)
        rows.append(row)
    return rows


def waiting(session: Session, *, chat_key: str, sender_key: str, now: datetime) -> bool:
    """Whether the person sent photos in this chat within :data:`ADOPT_WINDOW` that have no ticket yet."""
    return session.exec(select(col(Photo.id)).where(
        Photo.sender_key == sender_key, col(Photo.ticket_id).is_(None), Photo.chat_key == chat_key,
        Photo.created_at >= now - ADOPT_WINDOW).limit(1)).first() is not None


def adopt(session: Session, ticket_id: int, *, chat_key: str, sender_key: str, now: datetime) -> int:
    """Give waiting photos (no ticket yet) the person sent in this chat just before to ``ticket_id``."""
    result = session.execute(
        sa.update(Photo).where(col(Photo.ticket_id).is_(None), col(Photo.chat_key) == chat_key, col(Photo.sender_key) == sender_key,
                               col(Photo.created_at) >= now - ADOPT_WINDOW)
        .values(ticket_id=ticket_id, next_attempt_at=now)
    )
    return rowcount(result)


def of_ticket(session: Session, ticket_id: int) -> list[Photo]:
    """A ticket's photos and those of the tickets merged into it, oldest first."""
    from core.models import Ticket

    merged = sa.select(col(Ticket.id)).where(col(Ticket.master_id) == ticket_id)
    return list(session.exec(select(Photo).where(sa.or_(col(Photo.ticket_id) == ticket_id, col(Photo.ticket_id).in_(merged)))
                             .order_by(col(Photo.id))))


def failed(session: Session, ticket_ids: sa.Select[tuple[int | None]] | None = None, limit: int = 200) -> list[Photo]:
    """Photos given up on (newest first), optionally only those of tickets in ``ticket_ids``."""
    q = select(Photo).where(Photo.state == "failed", col(Photo.ticket_id).is_not(None))
    if ticket_ids is not None:
        q = q.where(col(Photo.ticket_id).in_(ticket_ids))
    return list(session.exec(q.order_by(col(Photo.id).desc()).limit(limit)))


# -- the fetch queue -----------------------------------------------------------------------------


def claim_due(session: Session, *, limit: int = 10, now: datetime | None = None, lease: timedelta = LEASE) -> list[Photo]:
    """Lease due photos of tickets to this fetcher. Commits. Each row is taken by one guarded
    UPDATE (its state and attempt count as read), so of two fetchers only one gets it."""
    now = now or utcnow()
    candidates = session.execute(
        sa.select(col(Photo.id), col(Photo.attempts), col(Photo.state))
        .where(col(Photo.state).in_(("pending", "fetching")), col(Photo.next_attempt_at) <= now, col(Photo.ticket_id).is_not(None))
        .order_by(col(Photo.next_attempt_at), col(Photo.id)).limit(limit)
    ).all()
    session.rollback()  # end the read before the writes (PostgreSQL: no snapshot held across them)
    won: list[int] = []
    for photo_id, attempts, state in candidates:
        result = session.execute(
            sa.update(Photo).where(col(Photo.id) == photo_id, col(Photo.attempts) == attempts, col(Photo.state) == state,
                                   col(Photo.next_attempt_at) <= now)
            .values(state="fetching", attempts=attempts + 1, next_attempt_at=now + lease)
        )
        session.commit()
        if rowcount(result) == 1 and photo_id is not None:
            won.append(photo_id)
    if not won:
        return []
    return list(session.exec(select(Photo).where(col(Photo.id).in_(won)).order_by(col(Photo.id))
                             .execution_options(populate_existing=True)))


def _leased(row: Photo) -> sa.ColumnElement[bool]:
    return sa.and_(col(Photo.id) == row.id, col(Photo.state) == "fetching", col(Photo.attempts) == row.attempts)


def mark_fetched(session: Session, row: Photo, *, sha256: str, content_type: str, size: int,
                 now: datetime | None = None) -> bool:
    """Record the stored content. Commits. False when the lease was lost (another fetcher retook it)."""
    result = session.execute(sa.update(Photo).where(_leased(row)).values(
        state="fetched", sha256=sha256, content_type=content_type, size=size, last_error=None,
        fetched_at=now or utcnow()))
    session.commit()
    return rowcount(result) == 1


def mark_failed(session: Session, row: Photo, reason: str, *, retryable: bool, now: datetime | None = None) -> str:
    """Retry later with backoff, or give up (``failed``, the reason kept). Returns the new state. Commits."""
    now = now or utcnow()
    give_up = not retryable or row.attempts >= MAX_ATTEMPTS
    state = "failed" if give_up else "pending"
    prefix = "refused" if not retryable else ("gave up" if give_up else f"attempt {row.attempts} failed")
    session.execute(sa.update(Photo).where(_leased(row)).values(
        state=state, last_error=f"{prefix}: {reason}"[:500],
        next_attempt_at=now + timedelta(seconds=backoff(row.attempts))))
    session.commit()
    return state


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before retry ``attempts + 1``: 5, 15, 45 … (about half an hour over all attempts, so a
    platform's short outage is ridden out), capped at an hour, plus up to 25 % jitter."""
    return min(5.0 * 3.0 ** max(attempts - 1, 0), 3600.0) * (1 + 0.25 * (rng or random).random())


def retry(session: Session, photo_id: int, now: datetime | None = None) -> bool:
    """Put a failed photo back in the queue (an admin's 重试). Commits. False if it had not failed."""
    result = session.execute(sa.update(Photo).where(col(Photo.id) == photo_id, col(Photo.state) == "failed").values(
        state="pending", attempts=0, next_attempt_at=now or utcnow()))
    session.commit()
    return rowcount(result) == 1


@dataclass(frozen=True)
class PhotoView:
    """What a page or the API shows of one photo (never the platform reference)."""

    id: int
    ticket_id: int
    role: str
    state: str
    content_type: str | None
    size: int | None
    error: str | None
    created_at: datetime

    @property
    def label(self) -> str:
        """The state in plain Chinese, as the ticket page shows it."""
        if self.state == "fetched":
            return "处理结果照片（工作留痕）" if self.role == "result" else "现场照片"
        if self.state == "failed":
            return "图片下载失败"
        return "图片下载失败，将重试" if self.error else "图片下载中"


def view(row: Photo) -> PhotoView:
    """What pages show of a stored photo of a ticket (rows still waiting for their ticket are never shown)."""
    if row.ticket_id is None:
        raise ValueError(f"photo {row.id} has no ticket yet: only photos of tickets are shown")
    return PhotoView(pk(row), row.ticket_id, row.role, "pending" if row.state == "fetching" else row.state,
                     row.content_type, row.size, row.last_error, row.created_at)
