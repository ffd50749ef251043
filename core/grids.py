"""Grids, chats and people declared in a YAML file and loaded into the database.

The file format is documented in config/grids.example.yaml. Loading validates the whole
file first and reports every problem with its place, so a typo never half-loads.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator
from sqlmodel import Session, select

from core.message import split_chat_key
from core.models import Chat, Grid, Person

# Platforms whose "chat" is an account talking 1:1 with each person (replies need the recipient).
ONE_TO_ONE_PLATFORMS = frozenset({"wechat"})


class Level(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"


LEVEL_ORDER = [Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID]
LEVEL_LABELS = {Level.DISTRICT: "区", Level.STREET: "街道", Level.COMMUNITY: "社区", Level.GRID: "网格"}


class Role(StrEnum):
    RESIDENT = "resident"
    GRID_WORKER = "grid_worker"
    CARE_CENTER = "care_center"
    VOLUNTEER = "volunteer"
    ADMIN = "admin"


class Audience(StrEnum):
    """Who reads a chat: residents (the default), or staff (grid workers and the levels above)."""

    RESIDENTS = "residents"
    STAFF = "staff"


class GridSpec(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    name: str
    level: Level
    parent: str | None = None
    aliases: list[str] = Field(default_factory=list)


class ChatSpec(BaseModel):
    chat: str  # platform:chat_id
    grid: str
    title: str = ""
    script: str = Field("simplified", pattern="^(simplified|traditional)$")
    audience: str = Audience.RESIDENTS.value  # checked with the chat named in the message, below
    place: str = Field("", max_length=64)  # the building the group is for (「3栋」); empty: community-wide


class PersonSpec(BaseModel):
    name: str
    role: Role
    grid: str | None = None
    accounts: list[str] = Field(min_length=1)  # platform:user_id, one per platform
    phone: str | None = None
    trusted: bool = False


class GridsFile(BaseModel):
    grids: list[GridSpec]
    chats: list[ChatSpec] = Field(default_factory=list)
    people: list[PersonSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> GridsFile:
        problems: list[str] = []
        by_id: dict[str, GridSpec] = {}
        for g in self.grids:
            if g.id in by_id:
                problems.append(f"grid {g.id!r} is declared twice")
            by_id[g.id] = g
        for g in self.grids:
            if g.parent is None:
                if g.level is not Level.DISTRICT:
                    problems.append(f"grid {g.id!r} ({g.level}) needs a parent")
                continue
            parent = by_id.get(g.parent)
            if parent is None:
                problems.append(f"grid {g.id!r}: parent {g.parent!r} is not declared")
            elif LEVEL_ORDER.index(parent.level) >= LEVEL_ORDER.index(g.level):
                problems.append(f"grid {g.id!r} ({g.level}) cannot sit under {parent.id!r} ({parent.level})")
        for c in self.chats:
            try:
                split_chat_key(c.chat)
            except ValueError as exc:
                problems.append(str(exc))
            if c.grid not in by_id:
                problems.append(f"chat {c.chat!r}: grid {c.grid!r} is not declared")
            if c.audience not in Audience._value2member_map_:
                problems.append(f"chat {c.chat!r}: audience must be 'residents' or 'staff' (staff rooms get the "
                                f"workers' notices), got {c.audience!r}")
        for p in self.people:
            if p.grid is not None and p.grid not in by_id:
                problems.append(f"person {p.name!r}: grid {p.grid!r} is not declared")
            for account in p.accounts:
                try:
                    split_chat_key(account)
                except ValueError:
                    problems.append(f"person {p.name!r}: account must be platform:user_id, got {account!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class GridsFileError(ValueError):
    """The grids file cannot be used; the message names the file and every problem in it."""


def read_grids_file(path: Path) -> GridsFile:
    """Parse and validate a grids YAML file, or raise :class:`GridsFileError`."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise GridsFileError(f"grids file {path} does not exist; set LINLI_GRIDS_FILE or copy config/grids.example.yaml") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise GridsFileError(f"grids file {path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from exc
    except yaml.YAMLError as exc:
        raise GridsFileError(f"grids file {path} is not valid YAML: {exc}") from exc
    try:
        return GridsFile.model_validate(data or {})
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise GridsFileError(f"grids file {path}: {details}") from exc


def load_into_db(session: Session, spec: GridsFile) -> None:
    """Upsert the declared grids, chats and people. Nothing undeclared is deleted."""
    # Two passes, so a child may be listed before its parent.
    for g in spec.grids:
        row = session.get(Grid, g.id) or Grid(id=g.id, name=g.name, level=g.level.value)
        row.name, row.level, row.aliases = g.name, g.level.value, ",".join(g.aliases)
        row.parent_id = None
        session.add(row)
    session.flush()
    for g in spec.grids:
        session.get_one(Grid, g.id).parent_id = g.parent
    for c in spec.chats:
        platform, chat_id = split_chat_key(c.chat)
        chat = session.get(Chat, c.chat) or Chat(key=c.chat, platform=platform, chat_id=chat_id)
        chat.grid_id, chat.title, chat.script, chat.audience = c.grid, c.title or chat.title, c.script, c.audience
        chat.is_group = platform not in ONE_TO_ONE_PLATFORMS
        chat.place = c.place
        session.add(chat)
    for p in spec.people:
        for account in p.accounts:
            person = session.exec(select(Person).where(Person.key == account)).first() or Person(key=account)
            person.name, person.role, person.grid_id = p.name, p.role.value, p.grid
            person.phone, person.trusted, person.declared = p.phone, p.trusted, True
            session.add(person)
    session.flush()


def ancestors(session: Session, grid_id: str | None) -> list[Grid]:
    """The grid itself followed by its parents up to the district."""
    chain: list[Grid] = []
    seen: set[str] = set()
    while grid_id and grid_id not in seen:
        seen.add(grid_id)
        grid = session.get(Grid, grid_id)
        if grid is None:
            break
        chain.append(grid)
        grid_id = grid.parent_id
    return chain


def grid_by_alias(session: Session, name: str) -> Grid | None:
    """Find a grid whose name or one of whose aliases appears in ``name`` (e.g. 「我住幸福小区」)."""
    for grid in session.exec(select(Grid)).all():
        names = [grid.name, *filter(None, grid.aliases.split(","))]
        if any(n and n in name for n in names):
            return grid
    return None
