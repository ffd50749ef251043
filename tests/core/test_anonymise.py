"""core.masking.anonymise: text for anyone to read keeps what happened, not who or their number."""

from __future__ import annotations

import pytest

from core.masking import anonymise


@pytest.mark.parametrize("text,expected", [
    ("张阿姨说楼道灯坏了", "某阿姨说楼道灯坏了"),
    ("王师傅来看过没修好", "某师傅来看过没修好"),
    ("李建国家楼上漏水", "某某家楼上漏水"),
    ("找刘书记反映，老张也知道", "找某书记反映，某某也知道"),
    ("电话13800138000", "电话***********"),
    ("电话 +86 138-0013-8000", "电话 +** ***-****-****"),
    ("身份证110101199003071234", "身份证******************"),
])
def test_names_and_numbers_are_removed(text, expected):
    assert anonymise(text) == expected


@pytest.mark.parametrize("text", ["小区门口的小高层外墙掉皮", "3栋502室漏水 #12", "王府井大街路灯不亮", "小孙子发烧了", "老师们都说危险"])
def test_places_rooms_and_ordinary_words_stay(text):
    assert anonymise(text) == text
