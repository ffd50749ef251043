"""Behaviour of single messages: gate, categories, urgency with negation, location."""

from __future__ import annotations

import pytest

from core.classify import classify
from core.taxonomy import Category, Urgency


@pytest.mark.parametrize(
    "text",
    [
        "早上好", "收到", "谢谢", "好的", "哈哈哈", "[强][玫瑰]", "👍👍", "大家新年快乐！",
        "电梯修好了，谢谢物业[强]", "【停水通知】因管道维修，明天上午8点至下午5点停水，请大家提前储水",
        "温馨提示：明天下午开展消防演习，听到警报请不要惊慌", "今天在电梯里碰到王阿姨了", "小区的树真好看",
        "多喝水，天气干燥", "收到，马上转告家里老人",
    ],
)
def test_chatter_never_becomes_a_ticket(text):
    r = classify(text)
    assert not r.is_request and r.category is Category.CHATTER and r.urgency is Urgency.NORMAL


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("楼上漏水到我家，沟通无效，怎么办？", Category.NEIGHBOR),
        ("小区的树太高挡住阳光了", Category.GREENING),
        ("电梯坏了两天了没人修", Category.PROPERTY),
        ("垃圾桶满了好几天没人清运", Category.SANITATION),
        ("路灯不亮，晚上黑漆漆的", Category.FACILITIES),
        ("楼道里有人给电动车飞线充电", Category.SAFETY_HAZARD),
        ("广场舞音响太大声了，天天到十点", Category.NOISE),
        ("请问尊老金怎么申请", Category.SOCIAL_ASSISTANCE),
        ("独居老人腿脚不便，能不能帮忙买菜送药", Category.ELDERLY_CARE),
        ("我的电动车在楼下被偷了", Category.PUBLIC_SECURITY),
        ("小区门口有人占道经营，车都过不去", Category.CITY_ORDER),
        ("家里停水了，也没通知", Category.UTILITIES),
        ("社区医院什么时候能打流感疫苗", Category.HEALTH),
    ],
)
def test_requests_get_their_category(text, category):
    r = classify(text)
    assert r.is_request and r.category is category


def test_voice_transcript_style_is_classified_like_written_text():
    written = classify("楼上漏水到我家，沟通无效，怎么办？")
    spoken = classify("那个就是楼上啊漏水到我家 沟通无效 怎么办啊")
    assert spoken.is_request and spoken.category is written.category


def test_traditional_input_gets_the_same_answer():
    assert classify("樓上漏水到我家，溝通無效，怎麼辦？").category is Category.NEIGHBOR
    assert classify("電梯困人了，快來救命").urgency is Urgency.EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        "着火了着火了 3栋那边 火很大", "楼道里冒烟了", "家里煤气味很重", "楼道里燃气味特别冲", "有人晕倒了，在小区门口",
        "老人摔倒起不来了", "我奶奶在厨房滑倒了，躺在地上动不了", "电梯困人了", "电梯卡在十楼，里面关着一个老太太",
        "楼下有人拿刀打架", "孩子走丢了，五岁，穿红衣服", "我家小孩不见了", "水管爆了家里全淹了", "樓下起火了",
        "厨房烧起来了", "楼道里电动车烧起来了",
    ],
)
def test_emergencies_are_flagged_and_are_requests(text):
    r = classify(text)
    assert r.is_request and r.urgency is Urgency.EMERGENCY, r


def test_a_bare_call_for_a_number_is_at_least_a_possible_danger_of_its_kind():
    """「快打119」 says nothing of what happens: the resident still gets the fire number at once."""
    r = classify("快打119")
    assert r.is_request and r.emergency_kind == "fire" and r.urgency in (Urgency.EMERGENCY, Urgency.URGENT), r


@pytest.mark.parametrize(
    "text",
    [
        "不是着火，是烧烤的烟", "没事没事，不是煤气味，是邻居家在炖东西", "消防演习通知：周五上午十点在广场进行",
        "明天消防演练，听到警报往楼下走", "孩子已经找到了，谢谢大家", "万一着火了怎么办，大家学习一下逃生知识",
        "热水器打不着火", "特困人员的补助怎么申请", "孩子的疫苗接种本丢了，怎么补", "遇到电梯困人不要慌，按警铃等待救援",
        "刚看新闻说隔壁区着火了，大家注意用电安全",
    ],
)
def test_negated_hypothetical_or_notice_is_not_an_emergency(text):
    assert classify(text).urgency is not Urgency.EMERGENCY


@pytest.mark.parametrize(
    "text", ["整栋楼停水了，老人小孩都等着用水", "井盖丢了，就在小学门口", "污水漫进楼道了", "独居老人今天没药了"]
)
def test_urgent_requests(text):
    r = classify(text)
    assert r.is_request and r.urgency is Urgency.URGENT


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("3栋502门口堆了好多杂物，麻烦处理", "3栋502"),
        ("5号楼2单元的楼道灯不亮了", "5号楼2单元"),
        ("7幢楼下垃圾没人清运", "7幢"),
        ("12号楼3单元401楼上漏水", "12号楼3单元401"),
        ("解放路88号门口有人占道经营", "解放路88号"),
        ("建设路上有个大坑，车都绕着走", "建设路"),
    ],
)
def test_location_is_extracted(text, location):
    assert classify(text).location == location


def test_no_road_is_invented_from_ordinary_words():
    from core.classifier.location import extract_location

    for text in ("小区门口的马路坑坑洼洼", "过马路很危险", "我在群里说了", "这条街的路灯黑了", "家里进水了"):
        assert extract_location(text) is None
