"""Parsing JSON that a client sent, with a nesting limit.

Python's ``json`` recurses once per level of nesting and raises RecursionError (not a
ValueError) on a body like ``[[[[…]]]]`` 100,000 levels deep; even a few hundred levels that
do parse would recurse again wherever the value is walked. No payload we accept nests more
than a few levels, so anything deeper than :data:`MAX_DEPTH` is refused before parsing.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
# A JSON string, or an unterminated one running to the end: every quote starts a match, so the
# scan stays linear on hostile input such as ``"\"\"\"…``.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


class JsonTooDeep(ValueError):
    """The document nests deeper than allowed (a ValueError, like json.JSONDecodeError)."""


def nesting_exceeds(data: bytes, max_depth: int = MAX_DEPTH) -> bool:
    """True when brackets outside strings nest deeper than ``max_depth``.

    Cheap for ordinary payloads: with no more openers in the whole body than the limit, it
    cannot be exceeded and nothing is scanned.
    """
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return False
    depth = 0
    for b in _STRING.sub(b"", data).translate(None, _NOT_BRACKETS):
        if b in _OPENERS:
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` for untrusted input: raises ValueError (JsonTooDeep, JSONDecodeError,
    UnicodeDecodeError) for anything it will not take, never RecursionError."""
    raw = data.encode() if isinstance(data, str) else data
    if nesting_exceeds(raw, max_depth):
        raise JsonTooDeep(f"JSON nested more than {max_depth} levels deep")
    return json.loads(raw)
