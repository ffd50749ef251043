"""Text normalisation shared by training and inference.

``normalize(text)`` returns a :class:`Normalized` with
- ``simplified``: NFKC (full-width → half-width), control characters, URLs, @mentions,
  WeChat emoji codes (``[强]``) and Unicode emoji removed, Traditional → Simplified,
  a few Cantonese colloquialisms mapped to Mandarin. Punctuation is kept: the rules
  (negation, clause boundaries, notices) need it.
- ``compact``: ``simplified`` without punctuation, whitespace and voice-transcript fillers
  (那个/就是/啊/嗯/呃 …), the input of the model, so that "有人晕倒了，快来" and the
  voice transcript "那个有人晕倒了快来啊" give the same features.
- ``had_emoji`` / ``traditional``: flags used as features and for evaluation.

OpenCC is applied only when the text contains a character that Simplified and
Traditional spell differently (a frozenset check costs well under a microsecond).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import opencc

# Over-long input: the classifier answers "chatter" without looking (see core.classifier).
MAX_CHARS = 4000

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]")
_URL_RE = re.compile(r"(?:https?://|www\.)[^\s\u4e00-\u9fff]*", re.I)
# WeChat: "@张三\u2005" (mangled to a space by NFKC) or "@张三 "; also "@所有人".
_MENTION_RE = re.compile(r"@[^\s@,，:：]{1,16}(?:\s|$)")
# WeChat / QQ sticker codes: [强] [玫瑰] [OK] [捂脸] — short bracketed names.
_WECHAT_CODE_RE = re.compile(r"\[[^\[\]\s]{1,4}\]|/:[a-zA-Z]{1,8}")
_EMOJI_RE = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, flags' letters …
    "\U0001f1e6-\U0001f1ff"
    "\u2600-\u27bf"  # misc symbols, dingbats
    "\u2b00-\u2bff"
    "\ufe0f\u20e3\u200d"
    "]+"
)
# The BMP part of _EMOJI_RE as a set: most messages have no emoji, and a set check plus
# ``max(text)`` (for the astral ranges) is cheaper than running the regex.
_BMP_EMOJI_CHARS = frozenset(
    [chr(c) for c in range(0x2600, 0x27C0)] + [chr(c) for c in range(0x2B00, 0x2C00)] + ["\ufe0f", "\u20e3", "\u200d"]
)
# Voice-transcript fillers (removed only when one of their characters is present) and
# every non-word character.
_FILLER_RE = re.compile(r"那个|就是说|就是|这个这个|然后呢|[呃额嗯啊呀哎唉诶欸]+")
_FILLER_CHARS = frozenset("那就这然呃额嗯啊呀哎唉诶欸")
_NON_WORD_RE = re.compile(r"[^0-9a-zA-Z\u3400-\u4dbf\u4e00-\u9fff]+")

# Cantonese written forms that OpenCC leaves alone but Mandarin segmentation needs.
_CANTONESE = {
    "𨋢": "电梯", "咗": "了", "唔": "不", "冇": "没有", "嘅": "的", "係": "是", "喺": "在",
    "佢": "他", "哋": "们", "啲": "些", "嘢": "东西", "睇": "看", "揾": "找", "搵": "找",
    "畀": "给", "俾": "给", "嚟": "来", "咁": "这么", "點解": "为什么", "乜": "什么",
}
_CANTONESE_RE = re.compile("|".join(sorted(map(re.escape, _CANTONESE), key=len, reverse=True)))


class Normalized(NamedTuple):
    """A NamedTuple rather than a frozen dataclass: built once per message, and a frozen
    dataclass's ``__init__`` costs several times more."""

    simplified: str
    compact: str
    had_emoji: bool
    traditional: bool


class Normalizer:
    """Holds the OpenCC converter and the set of Traditional-only characters."""

    def __init__(self, trad_chars: frozenset[str] | None = None) -> None:
        self._cc: opencc.OpenCC | None = None
        self._trad = trad_chars if trad_chars is not None else _trad_chars_from_opencc()

    def _t2s(self, text: str) -> str:
        if self._cc is None:
            import opencc

            self._cc = opencc.OpenCC("t2s")
        return str(self._cc.convert(text))

    def is_traditional(self, text: str) -> bool:
        return not self._trad.isdisjoint(text)

    def __call__(self, text: str) -> Normalized:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if len(text) > MAX_CHARS:
            text = text[:MAX_CHARS]
        if not unicodedata.is_normalized("NFKC", text):  # the quick check is ~50x cheaper
            text = unicodedata.normalize("NFKC", text)
        if not text.isprintable():
            text = _CONTROL_RE.sub(" ", text)
        if "@" in text:
            text = _MENTION_RE.sub(" ", text)
        if "http" in text or "www" in text:
            text = _URL_RE.sub(" ", text)
        had_emoji = False
        if "[" in text or "/:" in text:
            new = _WECHAT_CODE_RE.sub(" ", text)
            had_emoji = new != text
            text = new
        if text and (max(text) >= "\U0001f000" or not _BMP_EMOJI_CHARS.isdisjoint(text)):
            new = _EMOJI_RE.sub(" ", text)
            if new != text:
                had_emoji = True
                text = new
        traditional = not self._trad.isdisjoint(text)
        if traditional:
            if not _CANTONESE_ONLY_CHARS.isdisjoint(text):
                text = _CANTONESE_RE.sub(lambda m: _CANTONESE[m.group(0)], text)
            text = self._t2s(text)
        text = text.strip()
        compact = _NON_WORD_RE.sub("", text)
        if not _FILLER_CHARS.isdisjoint(compact):
            compact = _FILLER_RE.sub("", compact)
        compact = compact.lower()
        return Normalized(text, compact, had_emoji, traditional)


@lru_cache(maxsize=1)
def _trad_chars_from_opencc() -> frozenset[str]:
    """Characters that t2s changes (computed once; the trained artifact ships this set)."""
    import opencc

    cc = opencc.OpenCC("t2s")
    chars = [chr(c) for c in range(0x3400, 0x9FFF + 1)]
    chars += list(_CANTONESE_ONLY_CHARS)
    out: set[str] = set()
    # Convert in blocks: one OpenCC call per 1000 characters, newline-separated.
    for i in range(0, len(chars), 1000):
        block = chars[i : i + 1000]
        conv = cc.convert("\n".join(block)).split("\n")
        if len(conv) != len(block):  # pragma: no cover - defensive
            conv = [cc.convert(ch) for ch in block]
        out.update(ch for ch, c2 in zip(block, conv, strict=True) if c2 != ch)
    out.update(_CANTONESE_ONLY_CHARS)
    return frozenset(out)


_CANTONESE_ONLY_CHARS = frozenset("𨋢咗冇嘅喺佢哋啲嘢睇揾搵畀嚟")
