"""Masking, duplicates, routing and relay parsing: the small pure pieces of the loop."""

from __future__ import annotations

import pytest

from bots.commands import parse_relay
from config.settings import CONFIG_DIR
from core.duplicates import similarity
from core.masking import mask
from core.routing import load_routing
from core.taxonomy import Category


@pytest.mark.parametrize(("text", "masked"), [
    ("电话13800138000", "电话138****8000"),
    ("电话 138 0013 8000 找我", "电话 138 **** 8000 找我"),  # the writer's spacing stays
    ("+86-138-0013-8000", "+86-138-****-8000"),
    ("身份证110101199003071234", "身份证1101**********1234"),
    ("11010119900307123X", "1101**********123X"),
    ("座机010-12345678", "座机010-******78"),
    ("紧急请拨打110、119、120或燃气抢修96777", "紧急请拨打110、119、120或燃气抢修96777"),
    ("#123 已办结，编号 20260301", "#123 已办结，编号 20260301"),
])
def test_masking_hides_phone_and_id_numbers_and_nothing_else(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize(("a", "b", "same"), [
    ("3栋电梯坏了，老人下不了楼", "3栋电梯又坏了，怎么还没人修", True),
    ("楼上漏水到我家了", "樓上又漏水了", True),  # Traditional folds to Simplified
    ("3栋电梯坏了", "5栋电梯坏了", False),  # different buildings are different problems
    ("楼道灯不亮", "电梯门关不上", False),
])
def test_duplicates_are_similar_words_about_the_same_place(a, b, same):
    assert (similarity(a, b) >= 0.4) is same


def test_routing_nearest_grid_override_wins_and_categories_fill_in():
    table = load_routing(CONFIG_DIR / "routing.yaml")
    assert table.route(Category.PROPERTY, ["xingfu-1", "xingfu", "heping"]).department == "幸福物业服务中心"
    assert table.route(Category.PROPERTY, ["anle-1", "anle"]).department == "安乐家园物业"
    assert table.route(Category.NOISE, ["xingfu-1", "xingfu"]).department == "城管/环保"
    care = table.route(Category.ELDERLY_CARE, ["xingfu-1", "xingfu"])
    assert (care.department, care.assignee) == ("幸福居家养老服务中心", "playground:care")


def test_emergency_numbers_by_signal_word_category_and_default():
    table = load_routing(CONFIG_DIR / "routing.yaml")
    assert table.emergency_call("家里水管爆了", Category.UTILITIES, ["flood"]).call != "119"  # the main valve first
    assert table.emergency_call("家里水管爆了，淹到插座了", Category.UTILITIES, ["flood"]).call == "119"
    assert table.emergency_call("煤气味很重", Category.UTILITIES).call.startswith("燃气抢修")
    assert table.emergency_call("老人摔倒起不来", Category.OTHER).call == "120"
    assert table.emergency_call("救命", Category.OTHER).call == "110"


@pytest.mark.parametrize(("content", "named"), [
    ("categories:\n  plumbing: {department: 水务}\n", "plumbing"),  # an unknown category: the valid codes follow
    ('emergency:\n  kinds:\n    fire: {call: "119", advice: "拨打{number}"}\n', "number"),  # advice takes only {call}
])
def test_a_routing_file_with_an_unknown_category_or_advice_placeholder_is_refused_naming_it(tmp_path, content, named):
    bad = tmp_path / "routing.yaml"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=named):
        load_routing(bad)


def test_relay_format():
    relay = parse_relay("张大爷 3栋502 13800138000 需要买药送药")
    assert (relay.name, relay.location, relay.phone, relay.need) == ("张大爷", "3栋502", "13800138000", "需要买药送药")
    assert parse_relay("李奶奶，5栋101，想找人陪诊").phone is None
    assert parse_relay("张大爷 3栋502") is None
