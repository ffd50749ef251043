"""Simplified/Traditional helpers shared by duplicate detection and reply rendering (OpenCC)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4)
def _s2t(config: str):
    import opencc

    return opencc.OpenCC(config)


def traditional_forms(text: str) -> tuple[str, ...]:
    """How ``text`` (Simplified) is written in Traditional: Taiwan, Hong Kong and OpenCC's standard
    forms, without repeats (查询 → 查詢; 重启 → 重啟, 重啓)."""
    return tuple(dict.fromkeys(f for f in (_s2t(c).convert(text) for c in ("s2tw", "s2hk", "s2t")) if f != text))


def to_traditional(text: str) -> str:
    return _s2t("s2t").convert(text) if text else text


def to_simplified(text: str) -> str:
    return _t2s().convert(text) if text else text


def is_traditional(text: str) -> bool:
    """True when the text uses characters that Traditional and Simplified write differently."""
    return bool(text) and to_simplified(text) != text
