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
