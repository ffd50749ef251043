"""Odd input never raises and has a defined answer."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from core.classifier import MAX_CHARS
from core.classify import classify
from core.taxonomy import Category


def test_empty_and_whitespace_are_chatter():
    for text in ("", " ", "\n\t  ", "\u3000\u3000"):
        assert classify(text).category is Category.CHATTER


def test_pure_emoji_and_stickers_are_chatter():
    for text in ("😂😂😂", "🙏", "[强][强]", "❤️❤️", "🇨🇳", "[捂脸][微笑]"):
        assert classify(text).category is Category.CHATTER


def test_control_characters_and_none_do_not_raise():
    assert classify("\x00\x01\x02\x7f").category is Category.CHATTER
    assert classify(None).category is Category.CHATTER  # type: ignore[arg-type]
    assert classify(12345).category is Category.CHATTER  # type: ignore[arg-type]


def test_text_over_the_limit_is_chatter_without_being_read():
    huge = "楼上漏水到我家，" * (100_000 // 8)
    assert len(huge) > MAX_CHARS
    r = classify(huge)
    assert r.category is Category.CHATTER and r.confidence == 1.0


def test_long_text_under_the_limit_is_classified():
    text = "楼上漏水到我家，天花板都泡了，" + "说了好几次也没人管，" * 100
    assert len(text) <= MAX_CHARS
    assert classify(text).is_request


def test_mixed_scripts_and_languages():
    for text in ("电梯 broken 了 ok?", "樓上漏水 楼下也漏", "엘리베이터 고장", "lift is broken pls fix", "١٢٣"):
        classify(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_a_valid_answer(text):
    r = classify(text)
    assert r.is_request == (r.category is not Category.CHATTER)
    assert 0.0 <= r.confidence <= 1.0


def test_inference_does_not_import_sklearn_or_numpy():
    code = (
        "import sys; from core.classify import classify; classify('楼上漏水到我家'); "
        "bad = [m for m in ('sklearn', 'numpy', 'scipy') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
