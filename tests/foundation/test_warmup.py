"""Warming the classifier at start-up also takes what it loaded out of the garbage collector's sight."""

from __future__ import annotations

import gc

from bots.runtime import warm_classifier


def test_warming_the_classifier_freezes_the_loaded_heap():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    warm_classifier()
    try:
        # jieba's dictionary and the model: hundreds of thousands of objects no full collection walks again
        assert gc.get_freeze_count() > 100_000
    finally:
        gc.unfreeze()
