"""Chats and people as the bot meets them, and who may act on which ticket."""

from __future__ import annotations

from sqlmodel import Session, select

from core.grids import Role, ancestors
from core.message import Message
from core.models import Chat, Person


def ensure_chat(session: Session, message: Message) -> Chat:
    """The chat row; an unknown chat is recorded with no grid (and the bot ignores it)."""
    chat = session.get(Chat, message.chat_key)
    if chat is None:
        chat = Chat(key=message.chat_key, platform=message.platform, chat_id=message.chat_id, is_group=message.is_group)
        session.add(chat)
        session.flush()
    elif chat.is_group != message.is_group:
        chat.is_group = message.is_group
        session.add(chat)
    return chat


def ensure_person(session: Session, message: Message, grid_id: str | None = None) -> Person:
    """The sender; someone undeclared becomes a resident of the chat's grid."""
    person = session.exec(select(Person).where(Person.key == message.sender_key)).first()
    if person is None:
        person = Person(key=message.sender_key, name=message.sender_name, role=Role.RESIDENT.value, grid_id=grid_id)
        session.add(person)
        session.flush()
    elif message.sender_name and not person.declared and person.name != message.sender_name:
        person.name = message.sender_name
        session.add(person)
    return person


def can_manage(session: Session, person: Person, grid_id: str | None) -> bool:
    """Admins manage everything; grid workers their own grid and every grid below it."""
    if person.role == Role.ADMIN:
        return True
    if person.role != Role.GRID_WORKER or person.grid_id is None:
        return False
    return any(g.id == person.grid_id for g in ancestors(session, grid_id))


def workers_for(session: Session, grid_id: str | None) -> list[Person]:
    """The grid workers nearest to a grid: its own, else the next level up that has any."""
    for grid in ancestors(session, grid_id):
        found = list(
            session.exec(
                select(Person).where(Person.grid_id == grid.id, Person.role == Role.GRID_WORKER.value).order_by(Person.id)
            )
        )
        if found:
            return found
    return []


def display_name(person: Person | None) -> str:
    if person is None:
        return "网格员"
    return person.name or person.key.split(":", 1)[-1]
