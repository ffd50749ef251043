"""Normalisation: scripts, widths, emoji, mentions, URLs, fillers."""

from __future__ import annotations

from core.classifier.normalize import Normalizer

norm = Normalizer()


def test_traditional_becomes_simplified():
    n = norm("樓上漏水到我家，溝通無效")
    assert n.traditional and n.simplified.startswith("楼上漏水到我家")


def test_simplified_text_is_not_sent_through_opencc():
    assert not norm("楼上漏水到我家，沟通无效，怎么办").traditional


def test_full_width_becomes_half_width():
    assert norm("３栋５０２ＡＢ！").simplified == "3栋502AB!"


def test_wechat_codes_emoji_mentions_and_urls_are_removed():
    n = norm("@张三\u2005 电梯坏了[强][玫瑰]😂 https://example.com/a?b=1")
    assert n.compact == "电梯坏了" and n.had_emoji


def test_fillers_and_punctuation_do_not_change_the_model_input():
    assert norm("那个就是楼上漏水啊 到我家").compact == norm("楼上漏水，到我家。").compact


def test_control_characters_are_dropped():
    assert norm("电梯\x00坏\x07了\u200b").compact == "电梯坏了"


def test_cantonese_lift_is_a_lift():
    assert "电梯" in norm("部𨋢壞咗").simplified


def test_segmentation_keeps_domain_phrases_whole(clf):
    words = clf.tokens(norm("有人飞线充电还高空抛物，尊老金也没到账，煤气味很重"))
    for w in ("飞线充电", "高空抛物", "尊老金", "煤气味"):
        assert w in words


def test_fast_segmenter_gives_exactly_jiebas_words(clf):
    """core.classifier.segment re-runs jieba's no-HMM dynamic programme in one loop."""
    import jieba

    from core.classifier import cut
    from core.classifier.corpus import CORPUS_DIR, HELDOUT_FILE, TRAIN_FILES, load_examples

    texts = [ex.text for f in [CORPUS_DIR / n for n in TRAIN_FILES] + [HELDOUT_FILE] for ex in load_examples(f)]
    texts += ["abc电梯123坏了x", "a", "电梯a坏", "a电梯", "3栋502漏水"]
    for text in texts:
        c = norm(text).compact
        assert cut(c) == jieba.dt.lcut(c, HMM=False), c
    assert cut("") == []
