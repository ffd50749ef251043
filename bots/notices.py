"""Sending a notice (通知): from a grid worker's 「通知 …」 in a chat or the console's form.

Both paths call :func:`send_notice`, which checks who may send, records the notice and returns
the replies to store in the outbox (one per residents' group, plus, from a chat, the sender's
confirmation). The outbox delivers them within each platform's rate limits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bots.replies import BotReply, Destination
from bots.templates import Templates, script_for
from core import notices
from core.grids import Role
from core.models import Chat, Grid, Notice, Person
from core.notices import MAX_NOTICE_CHARS
from core.people import can_manage, display_name, titled_name, workers_for


class NoticeRefused(Exception):
    """The notice was not sent; ``template`` and ``values`` say why and who may send one."""

    def __init__(self, template: str, **values):
        super().__init__(template)
        self.template = template
        self.values = values


@dataclass
class NoticeSent:
    notice: Notice
    grid: Grid
    replies: list[BotReply] = field(default_factory=list)  # one per residents' group
    unreachable: list[Chat] = field(default_factory=list)  # groups no configured channel can post into
    chats: list[Chat] = field(default_factory=list)


def may_send(session: Session, person: Person, grid_id: str | None) -> bool:
    """Grid workers for their grid and below, admins everywhere."""
    return person.role in (Role.GRID_WORKER, Role.ADMIN) and can_manage(session, person, grid_id)


def send_notice(session: Session, templates: Templates, *, sender: Person, grid_id: str | None, text: str, via: str,
                now: datetime, can_receive: Callable[[str], bool] | None = None) -> NoticeSent:
    """Record a notice to the residents' groups of ``grid_id`` and below; the replies carry it there.

    Raises NoticeRefused (not_allowed, usage, too_long, none) without recording anything."""
    text = (text or "").strip()
    if grid_id is None or not may_send(session, sender, grid_id):
        workers = workers_for(session, grid_id)
        raise NoticeRefused("notice_not_allowed", name=display_name(sender),
                            contact=titled_name(workers[0]) if workers else "社区工作人员")
    if not text:
        raise NoticeRefused("notice_usage")
    if len(text) > MAX_NOTICE_CHARS:
        raise NoticeRefused("notice_too_long", count=MAX_NOTICE_CHARS)
    grid = session.get_one(Grid, grid_id)
    reachable, unreachable = notices.residents_chats(session, grid_id, can_receive)
    if not reachable:
        raise NoticeRefused("notice_none", grid=grid.name)
    notice = notices.record(session, grid_id=grid_id, sender_key=sender.key, sender_name=sender.name, via=via,
                            text=text, chats=reachable, at=now)
    out = NoticeSent(notice, grid, unreachable=unreachable, chats=reachable)
    for chat in reachable:
        dest = Destination(chat.platform, chat.chat_id, True, script=script_for(chat.script, text))
        body = templates.render("notice", dest.script, text=text, actor=titled_name(sender))
        out.replies.append(dest.reply(body, f"notice:{notice.id}:to:{chat.key}"))
    return out


def sent_text(templates: Templates, script: str, sent: NoticeSent) -> str:
    """What the sender is told: where it went, and which groups no channel could reach."""
    titles = "、".join(c.title or c.key for c in sent.chats)
    text = templates.render("notice_sent", script, grid=sent.grid.name, count=len(sent.chats), lines=titles)
    if sent.unreachable:
        text += "\n" + templates.render("notice_unreachable", script, count=len(sent.unreachable),
                                        lines="、".join(c.title or c.key for c in sent.unreachable))
    return text
