"""Masking phone and ID numbers however they are written, and nothing else.

A hypothesis test writes mobiles, landlines and 15/18-digit IDs the ways people do (groups,
every kind of space and dash, dots, brackets, full-width digits, +86/0086/＋８６ prefixes, glued
to letters) inside ordinary text, and checks that no run of five of the number's digits
survives and that every other character is left exactly as written."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.masking import mask

SEPARATORS = [" ", "\u00a0", "\u3000", "\u2009", "\u202f", "\u200b", "-", "－", "–", "—", ".", "．", "·", " - ", "  "]
CONTEXT = st.text(alphabet="电话请联系我身份证号码座机老人住址栋单元室abcxyzXID：:，,。 ()（）#", max_size=12)
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@st.composite
def private_numbers(draw) -> tuple[str, str]:
    """(the number's identifying digits, how someone wrote it)."""
    kind = draw(st.sampled_from(["mobile", "id18", "id15", "landline"]))
    prefix = ""
    if kind == "mobile":
        core_digits = "1" + draw(st.sampled_from("3456789")) + draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
        prefix = draw(st.sampled_from(["", "+86", "+86 ", "0086", "0086-", "86", "＋８６", "(+86)"]))
    elif kind == "id18":
        core_digits = draw(st.text(alphabet="0123456789", min_size=17, max_size=17)) + draw(st.sampled_from("0123456789Xx"))
    elif kind == "id15":
        core_digits = draw(st.text(alphabet="0123456789", min_size=15, max_size=15))
    else:
        area = draw(st.sampled_from(["010", "021", "022", "0571", "0755", "0931"]))
        core_digits = area + draw(st.sampled_from("2345678")) + draw(st.text(alphabet="0123456789", min_size=6, max_size=7))
    # cut into groups at random places, joined by one kind of separator
    cuts = sorted(draw(st.sets(st.integers(1, len(core_digits) - 1), max_size=4)))
    groups = [core_digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(core_digits)], strict=True)]
    written = draw(st.sampled_from(SEPARATORS)).join(groups)
    if kind == "landline" and draw(st.booleans()):
        area = groups[0]
        written = f"({area})" + draw(st.sampled_from(["", "-", " "])) + written[len(area):].lstrip(" -.－–—·．\u00a0\u3000\u2009\u202f\u200b")
    if draw(st.booleans()):
        written = written.translate(FULL_WIDTH)
    return core_digits.upper(), prefix + written


def _visible_digits(text: str) -> str:
    """The digits (and masks) a reader sees, separators and words dropped, full-width folded."""
    out = []
    for ch in unicodedata.normalize("NFKC", text):
        if ch.isdecimal():
            out.append(str(unicodedata.decimal(ch)))
        elif ch in "*Xx":
            out.append(ch.upper())
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(number=private_numbers(), before=CONTEXT, after=CONTEXT)
def test_no_five_digits_of_a_phone_or_id_survive_however_it_is_written(number, before, after):
    core_digits, written = number
    text = before + written + after
    masked = mask(text)
    visible = _visible_digits(masked)
    for i in range(len(core_digits) - 4):
        assert core_digits[i:i + 5] not in visible, (text, masked)
    # everything else stays as written: one character for one, only digits become *
    assert len(masked) == len(text)
    assert all(a == b or (b == "*" and unicodedata.normalize("NFKC", a).isdecimal()) for a, b in zip(text, masked, strict=True)), (text, masked)


@pytest.mark.parametrize(("text", "masked"), [
    ("电话 138 0013 8000 找我", "电话 138 **** 8000 找我"),
    ("＋８６ １３８ ００１３ ８０００", "＋８６ １３８ **** ８０００"),
    ("手机138\u00a00013\u00a08000", "手机138\u00a0****\u00a08000"),
    ("138.0013.8000", "138.****.8000"),
    ("0086-13800138000", "0086-138****8000"),
    ("座机010 12345678", "座机010 ******78"),
    ("(021)-1234-5678", "(021)-****-**78"),
    ("身份证 1101 0119 9003 0712 34", "身份证 1101 **** **** **12 34"),
    ("sfz11010119900307123X", "sfz1101**********123X"),
    ("老身份证110101900307123", "老身份证1101*******7123"),
    ("代办 张大爷 3栋502 13800138000 需要买药送药", "代办 张大爷 3栋502 138****8000 需要买药送药"),
])
def test_examples_are_masked_keeping_the_writers_spacing(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize("text", [
    "办结 12 已处理", "查询 #1234", "合并 15 到 12", "编号 20260301", "2026-03-01 13:00 停水", "2026.03.01",
    "2026年3月1日", "3栋502", "3栋2单元502室", "5号楼1203", "物业费 ¥1,500.00", "共 12345 元", "请拨打110、119、120",
    "燃气抢修96777", "12345678", "订单 1234567890", "第 3 次 反映", "12:30-14:00",
])
def test_ticket_numbers_dates_amounts_and_rooms_are_not_masked(text):
    assert mask(text) == text


def test_the_quick_check_knows_every_character_that_normalises_to_a_digit():
    """``mask`` skips texts with too few digits; characters like ① or ² count as digits there."""
    from core.masking import _OTHER_DIGITS

    missing = [hex(c) for c in range(0x110000)
               if not chr(c).isdecimal() and any(x.isdecimal() for x in unicodedata.normalize("NFKC", chr(c)))
               and not _OTHER_DIGITS.fullmatch(chr(c))]
    assert missing == []
    assert mask("电话①③⑧⓪⓪①③⑧⓪⓪⓪") == "电话①③⑧****⑧⓪⓪⓪"
