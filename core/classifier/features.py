"""Features shared by training and inference: jieba words, char 1/2-grams, a few flags.

Inference is pure Python: each vocabulary entry's weight vector is packed into one big
integer (one 32-bit fixed-point field per class plus a count field), so a message's
scores are ``sum(map(vocab.get, tokens))`` — all in C — and one decode at the end.
"""

from __future__ import annotations

import math
import re
import struct
from itertools import repeat
from operator import add

from core.classifier import rules
from core.classifier.normalize import Normalized

FIELD_BITS = 32
SCALE = 1000.0  # fixed-point: weight 1.234 -> 1234
OFFSET = 1 << 15  # keeps every field non-negative (|weight| < 32.7)
MASK = (1 << FIELD_BITS) - 1

_LOC_HINT_RE = re.compile(r"\d+(?:栋|号楼|幢|单元|楼|室|号)|[一二三四五六七八九十]+(?:栋|号楼|幢|单元|楼)")


def flags(norm: Normalized) -> list[str]:
    """Pseudo-words describing the message as a whole."""
    out = []
    n = len(norm.compact)
    out.append("__len0__" if n <= 3 else "__len1__" if n <= 8 else "__len2__" if n <= 20 else "__len3__")
    if norm.had_emoji:
        out.append("__emoji__")
    s = norm.simplified
    if rules.REQUEST_CUE_RE.search(s):
        out.append("__cue__")
    if rules.is_notice(s):
        out.append("__notice__")
    if rules.thanks_for_fix(s):
        out.append("__fixed__")
    if "?" in s or "吗" in s:
        out.append("__q__")
    if _LOC_HINT_RE.search(s):
        out.append("__loc__")
    return out


def word_tokens(words: list[str], norm: Normalized) -> list[str]:
    return words + flags(norm)


def char_grams(compact: str) -> list[str]:
    """Char unigrams and bigrams (the training side; inference maps them lazily)."""
    return list(compact) + list(map(add, compact, compact[1:]))


class PackedLinear:
    """A multinomial linear model whose weights are packed per feature into one int."""

    def __init__(self, classes: list[str], bias: list[float], word_w: dict, char_w: dict) -> None:
        self.classes = classes
        self.n = len(classes)
        self.bias = bias
        self._base = sum(OFFSET << (FIELD_BITS * k) for k in range(self.n)) + (1 << (FIELD_BITS * self.n))
        self._nbytes = (self.n + 1) * FIELD_BITS // 8
        self._unpack = struct.Struct("<%dI" % (self.n + 1)).unpack
        self.word = {k: self._pack(v) for k, v in word_w.items()}
        self.char = {k: self._pack(v) for k, v in char_w.items()}

    def _pack(self, sparse) -> int:
        # sparse: flat list [class_index, fixed_point_weight, ...]
        q = self._base
        for i in range(0, len(sparse), 2):
            q += sparse[i + 1] << (FIELD_BITS * sparse[i])
        return q

    def scores(self, words: list[str], compact: str) -> list[float]:
        wg = self.word.get
        cg = self.char.get
        total = sum(map(wg, words, repeat(0)))
        total += sum(map(cg, compact, repeat(0)))
        if len(compact) > 1:
            total += sum(map(cg, map(add, compact, compact[1:]), repeat(0)))
        if not total:
            return list(self.bias)
        fields = self._unpack(total.to_bytes(self._nbytes, "little"))
        n = fields[-1]
        norm = 1.0 / (SCALE * math.sqrt(n))
        off = n * OFFSET
        return [b + (f - off) * norm for b, f in zip(self.bias, fields)]


def softmax(scores: list[float]) -> list[float]:
    m = max(scores)
    e = [math.exp(s - m) for s in scores]
    z = sum(e)
    return [x / z for x in e]
