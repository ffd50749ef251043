"""Chats and people as the bot meets them, and who may act on which ticket."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from core.grids import Role, ancestors
from core.message import Message
from core.models import Chat, Person, Ticket, TicketReporter


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


def accounts_of(session: Session, person: Person) -> dict[str, str]:
    """The person's account key on each platform: ``{"playground": "playground:wangfang", "telegram": …}``.

    A declared person with accounts on several platforms is one row per account, all with the
    same name; an undeclared person has only their own.
    """
    keys = {}
    if person.declared and person.name:
        keys = {p.key.split(":", 1)[0]: p.key
                for p in session.exec(select(Person).where(col(Person.declared), col(Person.name) == person.name).order_by(col(Person.id)))}
    keys[person.key.split(":", 1)[0]] = person.key
    return keys


def _filed_for(session: Session, person: Person, ticket: Ticket) -> bool:
    """The ticket was filed on behalf of this person: a declared person (a name the grids file
    vouches for, not one a sender chose) named first in ``on_behalf_of``, living in its grid's branch."""
    if not (person.declared and person.name and ticket.on_behalf_of):
        return False
    if ticket.on_behalf_of.split()[0] != person.name.split("（")[0]:
        return False
    return any(g.id == ticket.grid_id for g in ancestors(session, person.grid_id)) or \
        any(g.id == person.grid_id for g in ancestors(session, ticket.grid_id))


def can_read(session: Session, person: Person, ticket: Ticket, chat: Chat) -> bool:
    """Whether the bot may show ``ticket`` to ``person`` in ``chat`` (查询, 我的诉求).

    Its reporters, the person it was filed for, the care centre that filed it, its assignee
    and the staff whose grid covers it may; and in a group (whose members all read the
    answer) only when the group is one it was reported in or belongs to its grid or a level
    above. Everyone else is answered as if the number did not exist.
    """
    if chat.is_group:
        reported_here = session.exec(select(TicketReporter.id).where(
            TicketReporter.ticket_id == ticket.id, TicketReporter.chat_key == chat.key)).first() is not None
        if not reported_here and not any(g.id == chat.grid_id for g in ancestors(session, ticket.grid_id)):
            return False
    if person.key in (ticket.created_by, ticket.assignee) or can_manage(session, person, ticket.grid_id):
        return True
    reporter = session.exec(select(TicketReporter.id).where(
        TicketReporter.ticket_id == ticket.id, TicketReporter.person_key == person.key)).first()
    return reporter is not None or _filed_for(session, person, ticket)


def workers_for(session: Session, grid_id: str | None) -> list[Person]:
    """The grid workers nearest to a grid: its own, else the next level up that has any."""
    for grid in ancestors(session, grid_id):
        found = list(
            session.exec(
                select(Person).where(col(Person.grid_id) == grid.id, col(Person.role) == Role.GRID_WORKER.value).order_by(col(Person.id))
            )
        )
        if found:
            return found
    return []


# What a role is called in a sentence (「已转网格员王芳处理」); residents go by their name alone.
ROLE_TITLES = {Role.GRID_WORKER: "网格员", Role.VOLUNTEER: "志愿者", Role.CARE_CENTER: "养老服务中心", Role.ADMIN: "指挥中心"}
# A name that already says what the person is needs no title in front (志愿者小刘, 陈社区书记, 和平街道指挥中心).
_TITLE_WORDS = ("网格员", "志愿者", "书记", "主任", "社工", "中心", "驿站", "站长", "物业", "民警", "警官")
_ANNOTATION = re.compile(r"^(.+?)\s*[（(][^）)]*[）)]\s*$")


def display_name(person: Person | None) -> str:
    """The person's name as people address them: 「王芳（网格员）」 in the grids file is 王芳."""
    if person is None:
        return "网格员"
    name = (person.name or person.key.split(":", 1)[-1]).strip()
    bare = _ANNOTATION.match(name)
    return bare.group(1) if bare else name


def titled_name(person: Person | None) -> str:
    """The name with the role in front, once: 网格员王芳, 志愿者小刘, 陈社区书记, 张阿姨 (residents)."""
    name = display_name(person)
    if person is None:
        return name
    title = ROLE_TITLES.get(Role(person.role)) if person.role in Role._value2member_map_ else None
    if title is None or any(word in name for word in _TITLE_WORDS):
        return name
    return title + name
