"""jieba's no-HMM segmentation (``Tokenizer.__cut_DAG_NO_HMM``) in one tight loop.

jieba builds a DAG dict of candidate word ends, then a route dict of ``(score, end)``
tuples through a generator per position, then walks it. This does the same dynamic
programme right to left in one pass over jieba's own dictionary (``FREQ``, ``total``),
with the same float operations in the same order and the same tie-break (the longer
word wins an exact tie), so the words are identical — ``tests/classifier`` checks that
against jieba over every corpus line. It is the largest single cost of a classification.
"""

from __future__ import annotations

from math import log
from typing import Any

_ASCII_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class Segmenter:
    """Callable: ``segment(compact) -> list[str]`` for text made only of word characters
    (``Normalized.compact``), as ``list(tokenizer._Tokenizer__cut_DAG_NO_HMM(compact))``."""

    def __init__(self, tokenizer: Any) -> None:  # a jieba.Tokenizer (jieba publishes no types)
        tokenizer.check_initialized()
        self.freq = tokenizer.FREQ
        self.logtotal = log(tokenizer.total)
        # log(freq) - log(total), filled on first use: jieba's dictionary has ~350k
        # entries and a message touches a few dozen.
        self._lp: dict[str, float] = {}

    def __call__(self, s: str) -> list[str]:
        n = len(s)
        if not n:
            return []
        freq = self.freq
        lp = self._lp
        logtotal = self.logtotal
        score = [0.0] * (n + 1)
        end = [0] * n
        for k in range(n - 1, -1, -1):
            best = None
            bx = k
            i = k + 1
            frag = s[k]
            while frag in freq:
                if freq[frag]:
                    p = lp.get(frag)
                    if p is None:
                        p = lp[frag] = log(freq[frag]) - logtotal
                    v = p + score[i]
                    if best is None or v >= best:
                        best = v
                        bx = i - 1
                if i >= n:
                    break
                i += 1
                frag = s[k:i]
            if best is None:  # no dictionary word starts here: the single character
                c = s[k]
                p = lp.get(c)
                if p is None:
                    p = lp[c] = log(freq.get(c) or 1) - logtotal
                best = p + score[k + 1]
            score[k] = best
            end[k] = bx + 1
        out = []
        x = 0
        buf = ""
        while x < n:
            y = end[x]
            if y == x + 1 and s[x] in _ASCII_ALNUM:  # jieba glues single ASCII letters/digits
                buf += s[x]
            else:
                if buf:
                    out.append(buf)
                    buf = ""
                out.append(s[x:y])
            x = y
        if buf:
            out.append(buf)
        return out
