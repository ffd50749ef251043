"""Recognising commands in chat text: Chinese words (查询 12) and slash forms (/status 12).

A Chinese command word only counts when a ticket number follows it (or the command takes
none), so a resident writing 「确认一下明天停水吗」 is not mistaken for a command.
Commands are declared once, in Simplified Chinese; their Traditional forms (查詢, 確認 …) are
derived with OpenCC, and full-width letters, digits and spaces (／ｓｔａｔｕｓ　１２) are read as
their ASCII forms.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, NamedTuple

from core import models as _models  # noqa: F401  (before core.grids: models completes a cycle through it)
from core.chinese import to_simplified, traditional_forms
from core.grids import Role
from core.people import display_name
from core.tickets import MAX_NUMBER as MAX_TICKET_NUMBER

# A handler gets (the bot, the turn, the parsed command); a check gets (the bot, the turn) and
# returns None to go on, or the refusal's template name. Typed loosely: bots.community imports this.
Handler = Callable[[Any, Any, "ParsedCommand"], None]
Check = Callable[[Any, Any], "str | None"]

# Full-width ASCII letters, digits and the signs commands use, and the ideographic space: read
# as ASCII. Full-width Chinese punctuation is left alone, so a note keeps 「已修好！」 as written.
_FOLD = str.maketrans(
    {chr(0xFF01 + i): chr(0x21 + i) for i in range(0x5E) if chr(0x21 + i).isalnum() or chr(0x21 + i) in "/#@_"}
    | {"\u3000": " "}
)


def fold_width(text: str) -> str:
    """``／ｓｔａｔｕｓ　１２`` → ``/status 12``; full-width Chinese punctuation (，：！) is kept."""
    return text.translate(_FOLD)


class Grammar(StrEnum):
    """What follows a command's word."""

    BARE = "bare"  # nothing: 我的诉求, 帮助
    TICKET = "ticket"  # a ticket number, then the rest (a note, a target): 确认 12, 合并 15 到 12
    TEXT = "text"  # free text: 代办 张大爷 …, 通知 明天停水


@dataclass(frozen=True)
class Command:
    """One chat command, declared once (see bots.chat_commands): its Simplified words (Traditional and
    full-width forms are derived), slash form and further slash aliases, grammar, the roles whose help
    lists it, its help line, an optional filter run before the handler, and the handler."""

    name: str  # internal name, e.g. "status"; a ticket action's command has the action's name
    words: tuple[str, ...]  # Chinese words, e.g. ("查询", "查进度")
    usage: str = ""  # the help line: 「查询 编号，如「查询 12」」
    grammar: Grammar = Grammar.TICKET
    roles: frozenset[Role] = frozenset(Role)
    slash: str = ""  # slash form without the slash; default: the name
    aliases: tuple[str, ...] = ()  # more slash forms (/escalate for /refer)
    who: str = ""  # who may use it, for README (English)
    handler: Handler | None = field(default=None, compare=False, repr=False)
    check: Check | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.slash:
            object.__setattr__(self, "slash", self.name)

    @property
    def takes_number(self) -> bool:
        return self.grammar is Grammar.TICKET

    @property
    def takes_text(self) -> bool:
        return self.grammar is Grammar.TEXT

    @cached_property
    def forms(self) -> tuple[str, ...]:
        """The declared words and their Traditional forms, longest first (查询, 查詢 …)."""
        return tuple(sorted({f for w in self.words for f in (w, *traditional_forms(w))}, key=len, reverse=True))


CommandWord = Command  # the name this had before the router


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    number: int | None
    rest: str
    spoken: str  # the word the person used, for replies


_NUMBER = re.compile(r"^\s*[#＃]?\s*(\d{1,12})\b\s*[:：,，]?\s*(.*)$", re.S)
_SLASH = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.S)
_LEADING_MENTIONS = re.compile(r"^(?:@\S+\s*)+")


def parse_command(text: str, table: list[Command]) -> ParsedCommand | None:
    """Return the command in ``text``, or None when it is ordinary speech (an unknown slash
    word is ``unknown``; a slash alias is read as its command)."""
    text = _LEADING_MENTIONS.sub("", fold_width(text).strip()).strip()
    if not text:
        return None
    slash = _SLASH.match(text)
    if slash:
        word, rest = slash.group(1).lower(), (slash.group(2) or "").strip()
        for cmd in table:
            if word == cmd.slash or word in cmd.aliases:
                return _with_number(cmd, rest, "/" + word, strict=False)
        return ParsedCommand("unknown", None, rest, "/" + word)
    for cmd in sorted(table, key=lambda c: -len(c.forms[0])):
        for word in cmd.forms:
            if text.startswith(word):
                parsed = _with_number(cmd, text[len(word):], word, strict=True)
                if parsed is not None:
                    return parsed
    return None


def _with_number(cmd: Command, rest: str, spoken: str, *, strict: bool) -> ParsedCommand | None:
    if cmd.takes_text:
        # 「代办 张大爷 …」 and 「通知：明天停水」 are commands; 「代办跑腿有人吗」 and 「通知一下大家」 are speech.
        if strict and rest and not (rest[0].isspace() or rest[0] in ":："):
            return None
        return ParsedCommand(cmd.name, None, rest.strip().lstrip(":：").strip(), spoken)
    if not cmd.takes_number:
        if strict and rest.strip():
            return None
        return ParsedCommand(cmd.name, None, rest.strip(), spoken)
    match = _NUMBER.match(rest)
    if match:
        return ParsedCommand(cmd.name, int(match.group(1)), match.group(2).strip(), spoken)
    if strict:
        return None
    return ParsedCommand(cmd.name, None, rest.strip(), spoken)


class Router:
    """The chat commands, each declared once with its handler (aiogram's ``Router``: handlers are
    registered with a decorator; the declaration carries the filters).

    ``router.parse(text)`` finds the command in a message; ``router.dispatch(bot, turn, parsed)``
    checks what every command needs (its filter, a ticket number, a number a ticket can have) and
    calls the handler; ``router.for_role(role)`` lists what a help page shows to that role.
    """

    def __init__(self, fallback: str = "help"):
        self._commands: dict[str, Command] = {}
        self.fallback = fallback  # the command an unknown slash word gets

    def command(self, name: str, words: tuple[str, ...], usage: str, **declared: Any) -> Callable[[Handler], Handler]:
        """Declare a command and register the decorated function as its handler."""
        def register(handler: Handler) -> Handler:
            self.add(Command(name, words, usage, handler=handler, **declared))
            return handler
        return register

    def add(self, command: Command) -> None:
        """Add a declared command; its name, slash forms and words must be new."""
        taken = {w for c in self._commands.values() for w in (c.name, c.slash, *c.aliases)}
        clash = {command.name, command.slash, *command.aliases} & taken
        # Compared in Simplified: the Traditional forms need three OpenCC converters (about 45 MB),
        # loaded at the first message rather than at import.
        words = {to_simplified(w) for c in self._commands.values() for w in c.words} & {to_simplified(w) for w in command.words}
        if clash or words:
            raise ValueError(f"command {command.name}: already declared: {sorted(clash | words)}")
        self._commands[command.name] = command

    @property
    def commands(self) -> list[Command]:
        return list(self._commands.values())

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def parse(self, text: str) -> ParsedCommand | None:
        """The command in ``text``, or None when it is ordinary speech."""
        return parse_command(text, self.commands)

    def for_role(self, role: str | None) -> list[Command]:
        """The commands a person of ``role`` may use, in declaration order."""
        return [c for c in self._commands.values() if role in c.roles]

    def dispatch(self, bot: Any, turn: Any, parsed: ParsedCommand) -> None:
        """Run ``parsed``: its filter first (a refusal saying why), then what its grammar needs
        (a number; one out of range gets the not-found answer), then its handler."""
        command = self._commands.get(parsed.name) or self._commands[self.fallback]
        if command.check is not None:
            refusal = command.check(bot, turn)
            if refusal is not None:
                turn.refuse(bot.text(turn, refusal, name=display_name(turn.person)), f"{command.name}-refused")
                return
        if command.takes_number and parsed.number is None:
            turn.say(bot.text(turn, "command_usage", command=parsed.spoken, usage=command.usage), f"usage:{command.name}")
            return
        if command.takes_number and not 1 <= (parsed.number or 0) <= MAX_TICKET_NUMBER:
            turn.say(bot.text(turn, "ticket_not_found", number=parsed.number), f"notfound:{parsed.number}")
            return
        assert command.handler is not None, f"command {command.name} has no handler"
        command.handler(bot, turn, parsed)


class ButtonAction(NamedTuple):
    name: str
    number: int
    target: int | None = None  # the second ticket of a two-ticket action (merge 15 into 12)


def action_data(name: str, number: int, target: int | None = None) -> str:
    """Button data for a command on a ticket: ``t:confirm:12``, ``t:merge:15:12`` (under Telegram's 64 bytes)."""
    return f"t:{name}:{number}" + (f":{target}" if target is not None else "")


def parse_action(data: str | None) -> ButtonAction | None:
    match = re.fullmatch(r"t:([a-z_]+):(\d{1,12})(?::(\d{1,12}))?", data or "")
    if not match:
        return None
    return ButtonAction(match.group(1), int(match.group(2)), int(match.group(3)) if match.group(3) else None)


_PHONE = re.compile(r"^(?:\+?86-?)?1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$")


@dataclass(frozen=True)
class Relay:
    """A care centre's request for an elder: 「代办 张大爷 3栋502 13800138000 需要买药送药」."""

    name: str
    location: str
    phone: str | None
    need: str


def parse_relay(text: str) -> Relay | None:
    """``姓名 楼栋房号 [电话] 需求`` (spaces or Chinese commas between); None when a part is missing."""
    parts = re.sub(r"[，,、；;]", " ", text).split()
    if len(parts) < 3:
        return None
    name, location, rest = parts[0], parts[1], parts[2:]
    phone = rest[0] if _PHONE.match(rest[0]) else None
    need = " ".join(rest[1:] if phone else rest).strip()
    return Relay(name, location, phone, need) if need else None
