"""Reply texts from config/templates.yaml, rendered in the chat's script."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from core.chinese import is_traditional

_CJK = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2tw")


class Templates:
    """Named format strings. ``render(name, script='traditional', ...)`` converts or uses an override."""

    def __init__(self, texts: dict[str, str], traditional: dict[str, str] | None = None):
        self._texts = texts
        self._traditional = traditional or {}

    @classmethod
    def load(cls, path: Path) -> Templates:
        data: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        traditional = data.pop("traditional", None) or {}
        bad = [k for k, v in data.items() if not isinstance(v, str)]
        if bad:
            raise ValueError(f"templates file {path}: entries must be strings: {bad}")
        return cls(data, traditional)

    def render(self, name: str, script: str = "simplified", /, **values: Any) -> str:
        """Fill a template. Raises KeyError naming a missing template or placeholder."""
        if name not in self._texts:
            raise KeyError(f"template {name!r} is missing from the templates file")
        if script == "traditional" and name in self._traditional:
            return self._traditional[name].format(**values)
        text = self._texts[name].format(**values)
        return _s2t().convert(text) if script == "traditional" else text


def call_text(call: str) -> str:
    """A number to call as said in a sentence: ``燃气抢修 96777`` → 燃气抢修电话96777, ``119`` → 119."""
    parts = call.split()
    if len(parts) == 2 and _CJK.fullmatch(parts[0][-1]) and parts[1][:1].isdigit():
        return parts[0] + ("" if parts[0].endswith("电话") else "电话") + parts[1]
    return re.sub(r"\s*([\u4e00-\u9fff]+)\s*", r"\1", call.strip())  # 120 或 119 → 120或119


def script_for(chat_script: str, text: str = "") -> str:
    """The script to answer in: the chat's setting, or Traditional when the person writes Traditional."""
    return "traditional" if chat_script == "traditional" or is_traditional(text) else "simplified"
