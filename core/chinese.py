"""Simplified/Traditional helpers shared by duplicate detection and reply rendering (OpenCC)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache


@lru_cache(maxsize=4)
def _converter(config: str) -> Callable[[str], str]:
    """OpenCC's conversion for ``config`` (t2s, s2t, s2tw, s2hk; OpenCC publishes no type information)."""
    import opencc

    convert = opencc.OpenCC(config).convert
    return lambda text: str(convert(text))


def traditional_forms(text: str) -> tuple[str, ...]:
    """How ``text`` (Simplified) is written in Traditional: Taiwan, Hong Kong and OpenCC's standard
    forms, without repeats (查询 → 查詢; 重启 → 重啟, 重啓)."""
    return tuple(dict.fromkeys(f for f in (_converter(c)(text) for c in ("s2tw", "s2hk", "s2t")) if f != text))


def to_traditional(text: str) -> str:
    return _converter("s2t")(text) if text else text


def to_simplified(text: str) -> str:
    return _converter("t2s")(text) if text else text


def is_traditional(text: str) -> bool:
    """True when the text uses characters that Traditional and Simplified write differently."""
    return bool(text) and to_simplified(text) != text
