"""Recognising commands in chat text: Chinese words (查询 12) and slash forms (/status 12).

A Chinese command word only counts when a ticket number follows it (or the command takes
none), so a resident writing 「确认一下明天停水吗」 is not mistaken for a command.
Commands are declared once, in Simplified Chinese; their Traditional forms (查詢, 確認 …) are
derived with OpenCC, and full-width letters, digits and spaces (／ｓｔａｔｕｓ　１２) are read as
their ASCII forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from core.chinese import traditional_forms

# Full-width ASCII letters, digits and the signs commands use, and the ideographic space: read
# as ASCII. Full-width Chinese punctuation is left alone, so a note keeps 「已修好！」 as written.
_FOLD = str.maketrans(
    {chr(0xFF01 + i): chr(0x21 + i) for i in range(0x5E) if chr(0x21 + i).isalnum() or chr(0x21 + i) in "/#@_"}
    | {"\u3000": " "}
)


def fold_width(text: str) -> str:
    """``／ｓｔａｔｕｓ　１２`` → ``/status 12``; full-width Chinese punctuation (，：！) is kept."""
    return text.translate(_FOLD)


@dataclass(frozen=True)
class CommandWord:
    name: str  # internal name, e.g. "status"
    words: tuple[str, ...]  # Chinese words, e.g. ("查询", "查")
    slash: str  # slash form without the slash, e.g. "status"
    takes_number: bool = True
    usage: str = ""
    takes_text: bool = False  # free text follows instead of a number (代办 张大爷 …)

    @cached_property
    def forms(self) -> tuple[str, ...]:
        """The declared words and their Traditional forms, longest first (查询, 查詢 …)."""
        return tuple(sorted({f for w in self.words for f in (w, *traditional_forms(w))}, key=len, reverse=True))


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    number: int | None
    rest: str
    spoken: str  # the word the person used, for replies


_NUMBER = re.compile(r"^\s*[#＃]?\s*(\d{1,12})\b\s*[:：,，]?\s*(.*)$", re.S)
_SLASH = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.S)
_LEADING_MENTIONS = re.compile(r"^(?:@\S+\s*)+")


def parse_command(text: str, table: list[CommandWord]) -> ParsedCommand | None:
    """Return the command in ``text``, or None when it is ordinary speech."""
    text = _LEADING_MENTIONS.sub("", fold_width(text).strip()).strip()
    if not text:
        return None
    slash = _SLASH.match(text)
    if slash:
        word, rest = slash.group(1).lower(), (slash.group(2) or "").strip()
        for cmd in table:
            if word == cmd.slash:
                return _with_number(cmd, rest, "/" + word, strict=False)
        return ParsedCommand("unknown", None, rest, "/" + word)
    for cmd in sorted(table, key=lambda c: -len(c.forms[0])):
        for word in cmd.forms:
            if text.startswith(word):
                parsed = _with_number(cmd, text[len(word):], word, strict=True)
                if parsed is not None:
                    return parsed
    return None


def _with_number(cmd: CommandWord, rest: str, spoken: str, *, strict: bool) -> ParsedCommand | None:
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
