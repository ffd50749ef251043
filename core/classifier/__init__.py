"""The jieba-based message classifier (issue 3).

Pipeline for one message (see ``JiebaClassifier.classify``):

1. ``normalize``: NFKC, control characters / URLs / @mentions / WeChat codes / emoji out,
   Traditional → Simplified (OpenCC, only when a Traditional-only character is present),
   voice-transcript fillers removed for the model input.
2. Obvious chatter (empty, pure emoji, 收到/好的/谢谢/早上好/哈哈 …) → ``chatter``.
3. One jieba pass (``HMM=False``, domain user dictionary) + char 1/2-grams + flags →
   a multinomial linear model (``config/classifier/model.json.gz``) with a learned
   ``chatter`` class. The request gate is P(chatter) against a threshold, with a middle
   band reported as ``needs_confirmation=True``; notices and "fixed, thanks" flags are
   features the model weighs, not hard overrides.
4. Emergencies (``core.classifier.emergency``): a second linear model over the same words
   and n-grams plus cues of *now* and *not now* gives P(kind); with those cues it decides an
   emergency (always a request, urgency ``emergency``) or a possible danger (a request,
   urgency ``urgent``, ``possible_danger=True``), each with its ``emergency_kind``.
5. ``urgent`` rules (整栋楼停水, 井盖丢了, 污水漫进楼道, 独居老人没药 …) for requests.
6. Location: building/unit/room and road names.

Bad input never raises: non-strings are stringified, and text longer than
``MAX_CHARS`` (4000 characters) is answered with ``chatter`` (confidence 1.0) without being
classified — no resident types that much into a group chat; a pasted document is not a request.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
from functools import lru_cache
from itertools import repeat
from math import exp
from operator import sub
from pathlib import Path
from typing import Any

from core.classifier import emergency as em
from core.classifier import rules
from core.classifier.features import JointLinear, PackedLinear, flags, softmax
from core.classifier.location import extract_location
from core.classifier.normalize import MAX_CHARS, Normalized, Normalizer
from core.classifier.segment import Segmenter
from core.classify import Classification
from core.taxonomy import Category, Urgency

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "classifier"
MODEL_PATH = CONFIG_DIR / "model.json.gz"
USERDICT_PATH = CONFIG_DIR / "userdict.txt"

log = logging.getLogger(__name__)

_CHATTER = Classification(False, Category.CHATTER, Urgency.NORMAL, 0.99)
_TOO_LONG = Classification(False, Category.CHATTER, Urgency.NORMAL, 1.0)
_FAILED = Classification(False, Category.CHATTER, Urgency.NORMAL, 0.0)

_jieba_lock = threading.Lock()
_jieba_ready = False


def jieba_tokenizer() -> Any:
    """jieba's default tokenizer (a ``jieba.Tokenizer``; jieba publishes no types), initialised once
    with the domain user dictionary."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.dt.initialize()
                if USERDICT_PATH.exists():
                    jieba.dt.load_userdict(str(USERDICT_PATH))
                _jieba_ready = True
    return jieba.dt


@lru_cache(maxsize=1)
def segmenter() -> Segmenter:
    """The one jieba pass (no HMM: new-word discovery adds nothing that char n-grams miss),
    shared by training and inference."""
    return Segmenter(jieba_tokenizer())


def cut(compact: str) -> list[str]:
    """jieba words of ``Normalized.compact`` (only word characters, so one jieba block)."""
    return segmenter()(compact)


class JiebaClassifier:
    def __init__(self, model_path: Path | str = MODEL_PATH) -> None:
        with gzip.open(model_path, "rt", encoding="utf-8") as f:
            art = json.load(f)
        self.meta = art.get("meta", {})
        self.classes: list[str] = art["classes"]
        self.model = PackedLinear(self.classes, art["bias"], art["word"], art["char"], bool(art.get("unigrams", True)))
        t = art.get("thresholds", {})
        self.t_request = float(t.get("request", 0.5))  # is_request when P(chatter) < this
        self.t_band_low = float(t.get("band_low", 0.3))  # needs_confirmation for P(chatter) in
        self.t_band_high = float(t.get("band_high", 0.7))  # [band_low, band_high)
        # File a request only when one request category beats chatter, unless
        # P(chatter) is below band_low anyway.
        self.gate_argmax = bool(t.get("argmax", True))
        self.chat_idx = self.classes.index(Category.CHATTER.value)
        if self.chat_idx != len(self.classes) - 1:
            raise ValueError(f"{model_path}: 'chatter' must be the last class; retrain with `linli train`")
        self.cats = [Category(c) for c in self.classes]
        self.normalize = Normalizer()
        self.segment = segmenter()
        self.emergency = em.EmergencyModel(art["emergency"]) if "emergency" in art else None
        # Both models in one pass over the message's features (see JointLinear).
        self.joint = JointLinear(self.model, self.emergency.linear) if self.emergency is not None else None

    # -- pieces, also used by training and evaluation ------------------------------
    def tokens(self, norm: Normalized) -> list[str]:
        return self.segment(norm.compact) + flags(norm)

    def probabilities(self, text: str) -> list[float]:
        norm = self.normalize(text)
        cue_words = em.features(norm.simplified, em.cue_names(norm.simplified)) if self.emergency is not None else []
        return softmax(self.model.scores(self.tokens(norm) + cue_words, norm.compact))

    # -- the public entry point -----------------------------------------------------
    def classify(self, text: str) -> Classification:
        try:
            return self._classify(text)
        except Exception:  # pragma: no cover - the contract is "never raises"
            log.exception("classifier failed on %r", str(text)[:200])
            return _FAILED

    def _classify(self, text: object) -> Classification:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if len(text) > MAX_CHARS:
            return _TOO_LONG
        norm = self.normalize(text)
        s = norm.simplified
        if rules.obvious_chatter(s, norm.compact):
            return _CHATTER
        fl = flags(norm)
        compact = norm.compact
        words = self.segment(compact)
        words += fl
        if self.joint is not None:
            names = em.cue_names(s)
            scores, e_scores = self.joint.scores(words + em.features(s, names), compact)
        else:
            scores = self.model.scores(words, compact)
        # Only P(chatter) and the best request class's probability are needed: one
        # normaliser, two divisions, no probability list.
        req = scores[:-1]  # chatter is the last class (checked in __init__)
        s_best = max(req)
        best = req.index(s_best)
        m = s_best if s_best > scores[-1] else scores[-1]
        z = sum(map(exp, map(sub, scores, repeat(m))))
        p_chat = exp(scores[-1] - m) / z
        p_best = exp(s_best - m) / z
        cat = self.cats[best]
        thresholds = self.emergency.thresholds if self.emergency is not None else {}
        verdict = em.decide(softmax(e_scores), names, thresholds) if self.joint is not None else None
        if (verdict is not None and verdict.tier == "possible" and p_chat >= self.t_request
                and verdict.probability < thresholds["chatter"]):
            verdict = None  # chatter to the category model and only a faint danger: not filed
        if verdict is not None:
            if verdict.tier == "emergency":  # the kind decides the category, unless the model is sure of another it allows
                cat = em.category_for(verdict.kind, cat, p_best / max(1e-9, 1.0 - p_chat) >= 0.5)
                return Classification(True, cat, Urgency.EMERGENCY, max(0.9, verdict.probability), False,
                                      extract_location(s), (verdict.kind,), verdict.kind)
            # A possible danger keeps the category model's best request category.
            return Classification(True, cat, Urgency.URGENT, verdict.probability, False, extract_location(s),
                                  (verdict.kind,), verdict.kind, True)
        if self._rule_chatter(s, fl):
            return Classification(False, Category.CHATTER, Urgency.NORMAL, max(p_chat, 0.9))
        if rules.urgent(s):  # 整栋楼停水, 井盖丢了, 污水漫进楼道 …: obvious requests
            cond = p_best / max(1e-9, 1.0 - p_chat)
            return Classification(True, cat, Urgency.URGENT, max(0.8, cond), False, extract_location(s))
        if p_chat >= self.t_request or (self.gate_argmax and p_best < p_chat and p_chat >= self.t_band_low):
            # Chatter is at least as likely as any one request category: not filed.
            needs = p_chat < self.t_band_high
            return Classification(False, Category.CHATTER, Urgency.NORMAL, p_chat, needs, None)
        needs = p_chat >= self.t_band_low
        # Not urgent: rules.urgent() was checked above.
        confidence = (1.0 - p_chat) * (p_best / max(1e-9, 1.0 - p_chat)) ** 0.5
        return Classification(True, cat, Urgency.NORMAL, confidence, needs, extract_location(s))


    @staticmethod
    def _rule_chatter(s: str, fl: list[str]) -> bool:
        """Notices, "fixed, thanks" and acknowledgement-led messages without a complaint
        (``fl``: the message's flags, see ``features.flags``)."""
        if "__fixed__" in fl or rules.thanks_for_help(s):
            return True
        if "__notice__" in fl and "__cue__" not in fl:
            return True
        if "__problem__" not in fl and rules.ack_prefixed(s):
            return True
        return False


@lru_cache(maxsize=1)
def default_classifier() -> JiebaClassifier:
    return JiebaClassifier()


__all__ = ["JiebaClassifier", "default_classifier", "MAX_CHARS"]
