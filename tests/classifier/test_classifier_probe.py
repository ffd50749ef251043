"""The probe set (config/classifier/corpus/probe.txt): an independent evaluation file
written in a different voice from the training corpus. It must never leak into training."""

from __future__ import annotations

from core.classifier.corpus import CORPUS_DIR, HELDOUT_FILE, TRAIN_FILES, load_examples, training_examples

PROBE_FILE = CORPUS_DIR / "probe.txt"


def test_evaluation_files_share_no_line_with_training():
    assert PROBE_FILE.name not in TRAIN_FILES and HELDOUT_FILE.name not in TRAIN_FILES
    train = {ex.text for ex in training_examples()}
    probe = {ex.text for ex in load_examples(PROBE_FILE)}
    held = {ex.text for ex in load_examples(HELDOUT_FILE)}
    assert not train & probe
    assert not train & held


def test_probe_covers_every_code_with_chatter_and_traditional_lines():
    from collections import Counter

    from core.classifier.normalize import Normalizer

    probe = load_examples(PROBE_FILE)
    counts = Counter(ex.category for ex in probe)
    assert len(counts) == 15 and counts["chatter"] >= 100
    trad = Normalizer().is_traditional
    assert sum(1 for ex in probe if trad(ex.text)) >= 30
    assert sum(1 for ex in probe if ex.urgency == "emergency") >= 15
