"""Notices (通知): a grid worker's announcement to every residents' group of a grid and the grids below.

The record says who sent it, when, from where (a chat or the console) and which chats it went
to; delivery itself goes through the outbox like every reply, so the platforms' rate limits apply.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, col, select

from core.db import pk
from core.grids import Audience
from core.models import Chat, Notice, NoticeChat

MAX_NOTICE_CHARS = 1000


def residents_chats(session: Session, grid_id: str, can_receive: Callable[[str], bool] | None = None
                    ) -> tuple[list[Chat], list[Chat]]:
    """The residents' group chats of ``grid_id`` and every grid below it: (reachable, not reachable by
    any configured channel). Staff rooms and 1:1 channels are never among them."""
    from core.accounts import subtree  # core.models imports this module; accounts imports core.models

    grids = subtree(session, grid_id)
    chats = session.exec(select(Chat).where(
        col(Chat.grid_id).in_(sorted(grids)), col(Chat.active), col(Chat.is_group), col(Chat.audience) == Audience.RESIDENTS.value,
    ).order_by(Chat.grid_id, Chat.key)).all()
    reachable = [c for c in chats if can_receive is None or can_receive(c.key)]
    return reachable, [c for c in chats if c not in reachable]


def record(session: Session, *, grid_id: str, sender_key: str, sender_name: str, via: str, text: str,
           chats: list[Chat], at: datetime) -> Notice:
    """Store a notice and the chats it goes to (in the caller's transaction, with the outbox rows)."""
    notice = Notice(grid_id=grid_id, sender_key=sender_key, sender_name=sender_name, via=via, text=text, created_at=at)
    session.add(notice)
    session.flush()
    for chat in chats:
        session.add(NoticeChat(notice_id=pk(notice), chat_key=chat.key, title=chat.title))
    session.flush()
    return notice


def recent(session: Session, grid_ids: frozenset[str] | None, limit: int = 50) -> list[tuple[Notice, list[NoticeChat]]]:
    """The latest notices sent to grids in ``grid_ids`` (None: all), each with its chats."""
    q = select(Notice).order_by(col(Notice.id).desc()).limit(limit)
    if grid_ids is not None:
        q = q.where(col(Notice.grid_id).in_(sorted(grid_ids)))
    notices = session.exec(q).all()
    chats: dict[int, list[NoticeChat]] = {}
    if notices:
        for row in session.exec(select(NoticeChat).where(col(NoticeChat.notice_id).in_([n.id for n in notices])).order_by(col(NoticeChat.id))):
            chats.setdefault(row.notice_id, []).append(row)
    return [(n, chats.get(pk(n), [])) for n in notices]
