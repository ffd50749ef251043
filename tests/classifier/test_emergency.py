"""Emergency detection (issue 13): declared kinds, cues of now / not now, the possible-danger tier,
advice by kind, the emergency corpus and its evaluation."""

from __future__ import annotations

import json

import pytest

from config.settings import CONFIG_DIR
from core.classifier import emergency as em
from core.classifier.corpus import EMERGENCY_HELDOUT_FILE, EMERGENCY_TRAIN_FILE, load_examples
from core.classify import Classification, classify
from core.routing import load_routing
from core.taxonomy import Category, Urgency

T = {"possible": 0.3, "emergency": 0.6, "sure": 0.85, "notnow": 0.6}


def probs_for(kind: str, p_kind: float) -> list[float]:
    """Model output with P(kind) = p_kind and the rest on "none"."""
    out = [0.0] * len(em.CLASSES)
    out[em.CLASSES.index(kind)] = p_kind
    out[-1] = 1.0 - p_kind
    return out


# ---------------------------------------------------------------- kinds


def test_kinds_are_declared_once_and_none_is_the_last_model_class():
    assert len(set(em.KIND_CODES)) == len(em.KIND_CODES) == 14
    assert em.CLASSES[-1] == em.NONE and em.CLASSES[:-1] == em.KIND_CODES
    for kind in em.KINDS:
        assert kind.categories and all(isinstance(c, Category) for c in kind.categories)


def test_the_shipped_model_knows_exactly_the_declared_kinds():
    from core.classifier import default_classifier

    model = default_classifier().emergency
    assert model is not None and tuple(model.linear.classes) == em.CLASSES


def test_a_model_trained_on_other_kinds_is_refused_with_what_to_do():
    with pytest.raises(ValueError, match="linli train"):
        em.EmergencyModel({"classes": ["fire", "none"], "bias": [0, 0], "word": {}, "char": {}})


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("地下车库有辆电动车烧起来了，火很大", "fire"),
        ("厨房油锅着火了 火窜到抽油烟机上了", "fire"),
        ("楼道配电箱在冒火花 噼里啪啦的响", "electrical"),
        ("路上一根电线掉下来了 还在冒火花", "electrical"),
        ("一进单元门就闻到很浓的煤气味", "gas"),
        ("独居的李阿姨打电话说胸口疼得厉害 喘不上气", "medical"),
        ("我妈说话突然含糊不清 嘴也歪了", "medical"),
        ("楼下有人拿着刀追着砍人", "violence"),
        ("有人正在撬对门的锁 撬了好一会儿了", "break_in"),
        ("有个陌生男的一直跟着几个放学的小孩", "stalking"),
        ("对面楼有个小孩在爬阳台栏杆 家里好像没大人", "heights"),
        ("有个人坐在楼顶边上 两条腿悬在外面", "heights"),
        ("有人站在楼顶说要跳下去", "self_harm"),
        ("小区池塘里有人掉下去了 在扑腾", "drowning"),
        ("电梯卡在8楼和9楼中间 里面有人", "trapped"),
        ("电梯没关门就在动 里面有人", "trapped"),
        ("楼上有人往下扔东西 刚才一个啤酒瓶砸在我脚边", "falling"),
        ("家里水管爆了 水哗哗往外喷 关不住", "flood"),
        ("孩子在小区游乐场玩着玩着不见了", "missing_child"),
        ("樓下有人拿刀追著人砍", "violence"),
        ("电梯困咗人，入面有个阿伯", "trapped"),
    ],
)
def test_each_kind_is_recognised_with_its_kind(text, kind):
    r = classify(text)
    assert r.emergency_kind == kind, r
    assert r.is_request and (r.urgency is Urgency.EMERGENCY or (r.possible_danger and r.urgency is Urgency.URGENT)), r


def test_a_reported_emergency_happening_now_is_an_emergency_not_a_possible_danger():
    for text in ("着火了着火了快来人啊 二楼", "快来人 有人掉河里了", "救命 我被关在电梯里 手机快没电了"):
        r = classify(text)
        assert r.urgency is Urgency.EMERGENCY and not r.possible_danger and r.emergency_kind, (text, r)


# ---------------------------------------------------------------- not now


@pytest.mark.parametrize(
    "text",
    [
        "热死了 空调都不管用", "笑死我了 这个视频太逗了", "救命 这道数学题好难", "这家奶茶店火了 天天排队",
        "网上那个小区着火的视频是假的 大家不要转发", "明天上午十点消防演练 听到警报请有序下楼",
        "昨天楼下着火的事已经处理好了 没人受伤", "新闻说外地有个小区燃气爆炸了 太吓人了",
        "听说隔壁小区进贼了 大家晚上锁好门", "燃气泄漏应该打什么电话", "万一着火了 高层住户怎么逃生",
        "不是着火 是楼下在烧烤", "楼道里有人给电动车充电 很危险 希望物业管管", "电梯坏了 还好里面没人 麻烦物业修一下",
        "油锅热了下葱姜蒜 香得很", "孩子找到了 在同学家 谢谢大家帮忙",
    ],
)
def test_figurative_past_drills_news_hearsay_and_procedure_questions_raise_no_alarm(text):
    r = classify(text)
    assert r.urgency is not Urgency.EMERGENCY and r.emergency_kind is None, r


@pytest.mark.parametrize(
    ("text", "present"),
    [
        ("楼下着火了，快来人！", {"now_le", "now_urge", "now_excl"}),
        ("配电箱正在冒火花", {"now_adv"}),
        ("昨天楼下着火了，已经灭了", {"past"}),
        ("明天消防演练", {"drill"}),
        ("【通知】明天停电", {"notice"}),
        ("新闻说外地着火了", {"news"}),
        ("听说三栋有人晕倒了", {"hearsay"}),
        ("那个着火的视频是假的 别转发", {"media"}),
        ("燃气泄漏打什么电话", {"howto"}),
        ("万一着火了怎么办", {"hypo"}),
        ("不是着火，是烧烤", {"neg"}),
        ("热死了", {"fig"}),
    ],
)
def test_cues_of_now_and_not_now_are_found(text, present):
    assert present <= em.cue_names(text)


def test_a_fire_is_not_mistaken_for_popularity():
    assert "fig" not in em.cue_names("楼下垃圾桶着火了")
    assert "fig" in em.cue_names("这首歌火了")


# ---------------------------------------------------------------- decision tiers


def test_a_sure_model_with_a_now_cue_is_an_emergency():
    v = em.decide(probs_for("fire", 0.9), {"now_urge"}, T)
    assert (v.kind, v.tier) == ("fire", "emergency")


def test_a_likely_danger_without_any_now_cue_is_only_a_possible_danger():
    assert em.decide(probs_for("gas", 0.7), set(), T).tier == "possible"
    assert em.decide(probs_for("gas", 0.9), set(), T).tier == "emergency"  # unless the model is sure


def test_the_middle_band_is_a_possible_danger_and_below_it_nothing():
    assert em.decide(probs_for("medical", 0.45), {"now_le"}, T).tier == "possible"
    assert em.decide(probs_for("medical", 0.2), {"now_le", "now_urge"}, T) is None


def test_only_not_now_cues_never_make_an_emergency():
    assert em.decide(probs_for("fire", 0.99), {"past"}, T).tier == "possible"
    assert em.decide(probs_for("fire", 0.5), {"media"}, T) is None


def test_a_possible_danger_is_an_urgent_request_with_its_kind():
    from core.classifier import default_classifier

    clf = default_classifier()
    found = [(t, clf.classify(t)) for t in ("楼道里好大一股煤气味 不知道是哪家的", "外墙的装饰板脱落了一半，挂在外面晃",
                                            "阳台上的花盆摆在护栏外面 风一吹摇摇晃晃 底下就是人行道")]
    possible = [(t, r) for t, r in found if r.possible_danger]
    assert possible, found
    for _, r in possible:
        assert r.is_request and r.urgency is Urgency.URGENT and r.emergency_kind in em.KIND_CODES


def test_classify_json_carries_the_kind_and_the_possible_danger_flag():
    r = Classification(True, Category.UTILITIES, Urgency.URGENT, 0.5, emergency_kind="gas", possible_danger=True)
    out = r.as_json("煤气味")
    assert out["urgency"] == "urgent" and out["emergency_kind"] == "gas" and out["possible_danger"] is True
    plain = Classification(True, Category.PROPERTY, Urgency.NORMAL, 0.9).as_json("电梯坏了")
    assert "emergency_kind" not in plain and "possible_danger" not in plain


# ---------------------------------------------------------------- advice by kind


def test_routing_gives_every_kind_a_number_and_one_line_of_advice_naming_it():
    table = load_routing(CONFIG_DIR / "routing.yaml")
    for kind in em.KIND_CODES:
        assert kind in table.emergency.kinds, kind
        ec = table.emergency_call("", Category.OTHER, [kind])
        assert ec.kind == kind and ec.call and ec.call in ec.advice and "\n" not in ec.advice


def test_a_burst_pipe_is_the_main_valve_and_repair_not_119_unless_people_or_power_are_at_risk():
    table = load_routing(CONFIG_DIR / "routing.yaml")
    pipe = table.emergency_call("家里水管爆了 水哗哗往外喷", Category.UTILITIES, ["flood"])
    assert "119" not in pipe.call and "总水阀" in pipe.advice
    sockets = table.emergency_call("家里进水了 已经淹到插座了", Category.UTILITIES, ["flood"])
    assert sockets.call == "119" and "断电" in sockets.advice


def test_gas_advice_says_no_switches_open_windows_and_call_after_leaving():
    ec = load_routing(CONFIG_DIR / "routing.yaml").emergency_call("煤气味", Category.UTILITIES, ["gas"])
    assert ec.advice.startswith("不要开关电器") and "开窗" in ec.advice and "离开后拨打燃气抢修电话96777" in ec.advice
    assert "拨打 " not in ec.advice


@pytest.mark.parametrize(
    ("kind", "must"), [("fire", ("不要乘电梯", "119")), ("medical", ("120", "不要随意搬动")), ("violence", ("110", "保持距离")),
                       ("break_in", ("110",)), ("stalking", ("110",))],
)
def test_advice_by_kind(kind, must):
    ec = load_routing(CONFIG_DIR / "routing.yaml").emergency_call("", Category.OTHER, [kind])
    assert all(m in ec.advice for m in must), ec


# ---------------------------------------------------------------- corpus and evaluation


def test_the_emergency_corpus_has_40_lines_per_kind_600_hard_negatives_and_groups():
    lines = load_examples(EMERGENCY_TRAIN_FILE)
    counts = {k: sum(1 for ex in lines if ex.kind == k) for k in (*em.KIND_CODES, em.NONE)}
    assert all(counts[k] >= 40 for k in em.KIND_CODES), counts
    assert counts[em.NONE] >= 600
    assert all(ex.group for ex in lines) and all(ex.category == "" for ex in lines)
    groups = {ex.group for ex in lines}
    assert len(groups) >= 150
    for g in groups:  # a phrasing group never mixes kinds
        assert len({ex.kind for ex in lines if ex.group == g}) == 1, g


def test_the_emergency_heldout_file_is_never_trained_on():
    train = {ex.text for ex in load_examples(EMERGENCY_TRAIN_FILE)}
    held = load_examples(EMERGENCY_HELDOUT_FILE)
    assert held and not train & {ex.text for ex in held}
    assert {ex.kind for ex in held} == {*em.KIND_CODES, em.NONE}


def test_at_signs_are_messages_outside_kind_sections(tmp_path):
    from core.classifier.corpus import parse_sections

    exs = parse_sections(["[chatter]", "@李网格员 谢谢你", "[kind:gas]", "@ g1", "煤气味很重", "[kind:none]", "@ g2", "热死了"])
    assert [(e.text, e.category, e.kind, e.group) for e in exs] == [
        ("@李网格员 谢谢你", "chatter", None, None), ("煤气味很重", "", "gas", "g1"), ("热死了", "", "none", "g2")]
    with pytest.raises(ValueError, match="unknown emergency kind"):
        parse_sections(["[kind:tornado]", "风好大"])


def test_eval_reports_recall_by_kind_and_false_alarms(tmp_path):
    from typer.testing import CliRunner

    from bots.cli import app

    f = tmp_path / "kinds.jsonl"
    rows = [{"text": "着火了着火了快来人啊 二楼", "emergency_kind": "fire", "group": "a"},
            {"text": "有人站在楼顶说要跳下去", "emergency_kind": "self_harm", "group": "b"},
            {"text": "热死了 空调都不管用", "emergency_kind": None, "group": "c"},
            {"text": "明天上午十点消防演练", "emergency_kind": "none", "group": "c"}]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = CliRunner().invoke(app, ["eval", str(f)])
    assert out.exit_code == 0, out.output
    assert "recall by kind" in out.output and "false alarms" in out.output
    assert any(line.split()[:1] == ["fire"] and "100.0%" in line for line in out.output.splitlines())
    res = json.loads(CliRunner().invoke(app, ["eval", str(f), "--json"]).output)["emergency_kinds"]
    assert res["n_hard_negative"] == 2 and res["false_alarm"] == 0.0 and res["kinds"]["fire"]["recall"] == 1.0
