"""Reply texts from config/templates.yaml, rendered in the chat's script."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from core.chinese import is_traditional


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


def script_for(chat_script: str, text: str = "") -> str:
    """The script to answer in: the chat's setting, or Traditional when the person writes Traditional."""
    return "traditional" if chat_script == "traditional" or is_traditional(text) else "simplified"
