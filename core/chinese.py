"""Simplified/Traditional helpers shared by duplicate detection and reply rendering (OpenCC)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text) if text else text


def is_traditional(text: str) -> bool:
    """True when the text uses characters that Traditional and Simplified write differently."""
    return bool(text) and to_simplified(text) != text
