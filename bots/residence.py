"""Which grid a message belongs to on 1:1 channels, and residents saying where they live.

In a group chat the chat's grid decides. On a 1:1 channel (a WeChat Official Account, the
WeCom app) one chat serves a whole district, so the person's own grid decides when it is
known: a declared grid worker's grid, or the community a resident named (「我住幸福小区」).
"""

from __future__ import annotations

import re

from sqlmodel import Session, select

from core.grids import grid_by_alias
from core.message import Message
from core.models import Chat, Person

_RESIDENCE = re.compile(r"^\s*我(?:家)?(?:住|就住|住在|在|家在)")


def as_seen_by(session: Session, message: Message, chat: Chat) -> Chat:
    """The chat as this message's sender sees it: on a 1:1 channel, with the sender's own grid
    when known. Returns a detached copy in that case, so the shared chat row never changes."""
    if message.is_group:
        return chat
    person = session.exec(select(Person).where(Person.key == message.sender_key)).first()
    if person is None or not person.grid_id or person.grid_id == chat.grid_id:
        return chat
    return Chat(**{**chat.model_dump(), "grid_id": person.grid_id})


def declare_residence(bot, turn, text: str) -> bool:
    """「我住幸福小区」 on a 1:1 channel moves an undeclared resident to that grid. True if handled."""
    if turn.message.is_group or turn.person.declared or not _RESIDENCE.match(text):
        return False
    grid = grid_by_alias(turn.session, text)
    if grid is None:
        return False
    turn.person.grid_id = grid.id
    turn.session.add(turn.person)
    turn.say(bot.text(turn, "residence_set", grid=grid.name), f"residence:{grid.id}")
    return True
