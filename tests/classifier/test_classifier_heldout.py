"""Held-out quality: the issue's targets, measured on config/classifier/corpus/heldout.txt,
which the training code never reads."""

from __future__ import annotations

import pytest

from core.classifier.corpus import HELDOUT_FILE, TRAIN_FILES, load_examples, training_examples
from core.classifier.evaluate import evaluate


@pytest.fixture(scope="module")
def metrics(clf):
    return evaluate(load_examples(HELDOUT_FILE), clf)


def test_heldout_split_is_never_trained_on():
    assert HELDOUT_FILE.name not in TRAIN_FILES
    train = {ex.text for ex in training_examples()}
    held = [ex.text for ex in load_examples(HELDOUT_FILE)]
    assert not train.intersection(held)


def test_corpus_has_enough_examples_per_code():
    from collections import Counter

    counts = Counter(ex.category for ex in training_examples())
    for code, n in counts.items():
        assert n >= (400 if code == "chatter" else 40), (code, n)
    held = Counter(ex.category for ex in load_examples(HELDOUT_FILE))
    assert len(held) == 15 and held["chatter"] >= 100


def test_category_macro_f1_is_at_least_0_90(metrics):
    assert metrics["macro_f1"] >= 0.90


def test_chatter_rarely_becomes_a_ticket(metrics):
    assert metrics["false_ticket_rate"] <= 0.02


def test_requests_are_rarely_missed(metrics):
    assert metrics["missed_request_rate"] <= 0.05


def test_every_emergency_is_flagged_with_few_false_alarms(metrics):
    assert metrics["counts"]["emergency"] >= 15
    assert metrics["emergency_recall"] == 1.0
    assert metrics["false_alarm_rate"] <= 0.01


def test_traditional_is_classified_as_well_as_simplified(metrics):
    paired = metrics["paired_traditional"]
    assert paired["traditional"] >= paired["simplified"] - 0.03
    assert metrics["traditional"]["n"] >= 30
    assert metrics["traditional"]["accuracy"] >= metrics["simplified"]["accuracy"] - 0.03


def _p_emergency(clf, text: str) -> tuple[float, bool]:
    """P(some emergency kind) of the shipped model and whether a *now* cue is present."""
    from core.classifier import emergency as em
    from core.classifier.features import flags, softmax

    n = clf.normalize(text)
    names = em.cue_names(n.simplified)
    _, e_scores = clf.joint.scores(clf.segment(n.compact) + flags(n) + em.features(n.simplified, names), n.compact)
    return 1.0 - softmax(e_scores)[-1], not em.NOW_CUES.isdisjoint(names)


MARGIN = 0.01


def test_no_heldout_line_sits_just_below_the_emergency_threshold_it_would_cross(clf):
    """The ≤ 1 % false-alarm test must not hang on one line a retraining may push over: every
    non-emergency line stays at least MARGIN below the threshold that would make it an emergency
    (``emergency`` with a now cue, ``sure`` without), or is already above it (and counted)."""
    t = clf.emergency.thresholds
    close = []
    for ex in load_examples(HELDOUT_FILE):
        if ex.urgency == "emergency":
            continue
        p, now = _p_emergency(clf, ex.text)
        line = t["emergency"] if now else t["sure"]
        if line - MARGIN <= p < line:
            close.append((round(p, 3), ex.text))
    assert not close, close


def test_voices_heldout_is_never_trained_on_and_holds_up():
    """config/classifier/corpus/voices_heldout.txt: other voices (elders by voice, Cantonese,
    Taiwanese, teenagers, guards, care workers, dialects), written before the fourth session's
    changes and never trained on. Chatter and hard negatives are rarely filed, requests rarely
    missed, every emergency line is recognised (an emergency or a possible danger)."""
    from core.classifier.corpus import CORPUS_DIR
    from core.classify import classify

    examples = load_examples(CORPUS_DIR / "voices_heldout.txt")
    train = {ex.text for ex in training_examples()} | {ex.text for ex in load_examples(CORPUS_DIR / "emergency_train.txt")}
    assert not train.intersection(ex.text for ex in examples)
    chatter = [ex for ex in examples if ex.category == "chatter" or ex.kind == "none"]
    requests = [ex for ex in examples if ex.category not in ("", "chatter")]
    kinds = [ex for ex in examples if ex.kind not in (None, "none")]
    assert len(chatter) >= 150 and len(requests) >= 50 and len(kinds) >= 50
    filed = [ex.text for ex in chatter if classify(ex.text).is_request]
    missed = [ex.text for ex in requests if not classify(ex.text).is_request]
    unrecognised = [ex.text for ex in kinds if classify(ex.text).emergency_kind is None]
    assert len(filed) <= 0.08 * len(chatter), filed
    assert len(missed) <= 0.05 * len(requests), missed
    assert len(unrecognised) <= 0.02 * len(kinds), unrecognised
