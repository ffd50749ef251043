"""Emergency detection (issue 13): declared kinds, cues of *now* and *not now*, and the decision.

A message is scored by a small learned model (classes: every kind in :data:`KINDS` plus
``none``; trained by ``linli train`` on ``config/classifier/corpus/emergency_train.txt`` and
the ordinary corpus, shipped inside ``model.json.gz`` under ``"emergency"``). Its features are
the classifier's own jieba words and char n-grams plus the cue flags of :func:`cues`, so it
learns that 「楼下着火了，快来人」 is now and 「昨天楼下着火了，已经灭了」 is not. The flags also gate
the decision in :func:`decide`:

- ``emergency``: P(some kind) ≥ ``emergency`` and a *now* cue (正在, 快, 救命, 了 at a clause
  end, ! …), or P ≥ ``sure`` without one;
- ``possible`` (a possible danger, filed ``urgent``): P in the middle band [``possible``,
  ``emergency``), or P ≥ ``emergency`` with no now cue, or P ≥ ``notnow`` while only *not
  now* cues (past, drill, notice, news, hearsay, media, figurative, procedure, hypothetical,
  negation) are present;
- otherwise nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.taxonomy import Category

NONE = "none"


@dataclass(frozen=True, slots=True)
class EmergencyKind:
    code: str
    label: str  # what people see
    # The category an emergency of this kind is filed under; the others listed are allowed
    # when the category model is sure of one of them (a fallen elder: elderly_care).
    categories: tuple[Category, ...]
    description: str


# The one declared list of emergency kinds. config/routing.yaml's `emergency.kinds` has the
# number and advice of each (a test checks that every kind is there), the corpora label lines
# with these codes, and the model's classes are these codes plus "none".
KINDS: tuple[EmergencyKind, ...] = (
    EmergencyKind("fire", "火情", (Category.SAFETY_HAZARD,), "fire, smoke, sparks with flames"),
    EmergencyKind("electrical", "电气危险", (Category.SAFETY_HAZARD, Category.UTILITIES),
                  "sparking distribution boxes, fallen live wires, electric shock"),
    EmergencyKind("gas", "燃气泄漏", (Category.UTILITIES,), "gas smell or leak, carbon monoxide"),
    EmergencyKind("medical", "急症伤病", (Category.HEALTH, Category.ELDERLY_CARE),
                  "collapse, stroke, heart, breathing, bleeding, poisoning, labour, a fall with no getting up"),
    EmergencyKind("violence", "暴力伤人", (Category.PUBLIC_SECURITY,), "weapons, fights with injuries, robbery"),
    EmergencyKind("break_in", "入室盗窃", (Category.PUBLIC_SECURITY,), "a break-in in progress"),
    EmergencyKind("stalking", "尾随诱拐", (Category.PUBLIC_SECURITY,),
                  "someone following a person, a stranger following or luring a child"),
    EmergencyKind("heights", "高处危险", (Category.SAFETY_HAZARD,),
                  "people at heights: a child on a balcony rail, someone on a roof edge"),
    EmergencyKind("self_harm", "轻生自伤", (Category.PUBLIC_SECURITY, Category.HEALTH), "self-harm, a threat to jump"),
    EmergencyKind("drowning", "溺水", (Category.SAFETY_HAZARD,), "a person in the water"),
    EmergencyKind("trapped", "被困", (Category.SAFETY_HAZARD,),
                  "trapped in a lift, a lift moving with its doors open, locked in, buried"),
    EmergencyKind("falling", "高空坠物", (Category.SAFETY_HAZARD, Category.GREENING, Category.CITY_ORDER),
                  "objects thrown from height, glass, tiles or structures falling or about to fall"),
    EmergencyKind("flood", "进水淹水", (Category.UTILITIES, Category.NEIGHBOR, Category.PROPERTY),
                  "a burst pipe or flooding, worst with people or electricity at risk"),
    EmergencyKind("missing_child", "人员走失", (Category.PUBLIC_SECURITY,),
                  "a missing child, or a confused elder who has not come home"),
)
KIND_CODES: tuple[str, ...] = tuple(k.code for k in KINDS)
BY_CODE: dict[str, EmergencyKind] = {k.code: k for k in KINDS}
# The model's classes: the kinds, then "none" last.
CLASSES: tuple[str, ...] = (*KIND_CODES, NONE)

# ---------------------------------------------------------------- cues
# One alternation, one pass: each named group is a flag. NOW_* are cues of an event happening
# now; the rest are cues that nothing is happening now. Runs on Normalized.simplified
# (Simplified, punctuation kept).
_CUES: tuple[tuple[str, str], ...] = (
    ("now_adv", r"正在|还在|仍在|一直在|在冒|在烧|在漏|在喷|在流|在晃|在往|越来越|现在|此刻|刚刚|刚才|头先|突然|一下子"),
    ("now_urge", r"快来|快点|快叫|快打|快报|快救|快跑|快看|赶紧|赶快|马上来|立刻|救命|救救|来人|帮帮|帮忙找|怎么办|咋办|咋整|点算|谁来"),
    ("now_call", r"报警|11[09]|120|幺幺|救护车|叫警察|消防"),
    ("now_excl", r"[!！]"),
    ("now_le", r"[了咗啦](?=$|[，,。！？!?；;\s])"),
    ("past", r"昨天|昨晚|昨日|前天|前几天|上周|上个?星期|上个?月|上个?礼拜|去年|前年|那年|那天|那次|上次|之前|以前|从前|小时候|当年|曾经|过一次|"
             r"没事了|还好没事|没大碍|虚惊|出院|已经.{0,6}(?:好了|灭|修好|找到|救出|抓|带走|处理|送|没事|回来|停了)|找到了|抓到了|灭了|修好了|已经到了"),
    ("chronic", r"天天|经常|总是|老是|每天|每次|好几天|好久|几个月|一个礼拜|一个星期|一个月|半年|一年了|好几年|几天了"),
    ("benign", r"烧烤|烤肉|烤串|火锅|炒菜|做饭|煎鱼|炖|熏|油烟|抽烟|吸烟|烧纸|烧香|蚊香|烟花|鞭炮|艾灸|桑拿|生日蜡烛"),
    ("drill", r"演练|演习|模拟|培训|讲座|竞赛|参观|知识|科普|须知|口诀|自救|逃生"),
    ("notice", r"通知|公告|提示|提醒|温馨|友情|请勿|严禁|禁止|请大家注意|注意安全|各位业主|各位家长"),
    ("news", r"新闻|报道|电视上|电视里|外地|某地|隔壁市|热搜|南方|北方"),
    ("hearsay", r"听说|据说|听讲|听.{1,3}说|有人说|有人话|传言|谣言|辟谣|真的假的|是真的吗|真唔真|不知道真假|澄清"),
    ("media", r"视频|影片|转发|转[:：]|截图|朋友圈|抖音|快手|网上|网传|群里传|电影|电视剧|剧里|综艺|游戏|小说|恐怖片|直播|拍戏|拍电影|摆拍|[Pp]的|王者|吃鸡|狼人杀|真人CS|玩具|打仗游戏"),
    ("howto", r"应该怎么|应该打|应该先|该怎么|怎么处理|怎么用|怎么做|怎么救|怎么扶|如何|怎样|打什么|打哪个|打咩|哪个电话|电话是多少|要不要|能不能|可不可以|会不会|是不是|多久|在哪里|一般在哪"),
    ("hypo", r"万一|如果|假如|要是|一旦|以防|防止|预防|防范|避免|小心|担心|(?<![害好很])怕(?!了)|以免|谨防|不要让|别让"),
    ("neg", r"不是[^，,。！？!?]{0,10}[，, ]*(?:是|而是)|不是(?:真的|着火|起火|失火|爆了|打架|小偷|煤气|燃气)|没有?(?:着火|起火|人受伤|受伤)|"
            r"里面没人|没人在里|唔係|误会|正常的|好可爱|好舒服|好漂亮"),
    ("fig", r"[热笑急累饿困气烦吓冻疼难忙挤馋晒]死|死个人|要命|要疯|疯了|崩溃|(?<![着起失冒点生发])火了|火爆|好火|很火|爆红|上火|走火入魔|炸锅|炸了锅|"
            r"哈哈|救命.{0,6}(?:题|作业|考试|胖|剧)|要我命|要人命|心都|吐血|杀疯|到爆|到死|热到"),
)


class Lexicon:
    """Named word families found in one pass over a message: the literal words of every family by a
    dict lookup at each position (only where a word can start), the few real patterns by one
    regex. (One regex alternation of all ~400 words cost ~50 µs a message; this ~5 µs.)"""

    _META = frozenset(".^$*+?{}[]()|\\")

    def __init__(self, families: tuple[tuple[str, str], ...]) -> None:
        words: dict[str, set[str]] = {}
        patterns: dict[str, list[str]] = {}
        for name, rx in families:
            for alt in _alternatives(rx):
                if self._META.isdisjoint(alt):
                    words.setdefault(alt, set()).add(name)
                else:
                    patterns.setdefault(name, []).append(alt)
        self.words = {w: frozenset(n) for w, n in words.items()}
        first: dict[str, set[int]] = {}
        for w in self.words:
            first.setdefault(w[0], set()).add(len(w))
        self.first = {c: tuple(sorted(ls)) for c, ls in first.items()}
        # Each pattern runs only when a character it must start with is in the message.
        self.patterns = [(_leading_chars(alt), name, re.compile(alt)) for name, alts in patterns.items() for alt in alts]

    def __call__(self, s: str) -> set[str]:
        found: set[str] = set()
        first, words = self.first, self.words
        for i, ch in enumerate(s):
            lengths = first.get(ch)
            if lengths:
                for n in lengths:
                    hit = words.get(s[i : i + n])
                    if hit:
                        found |= hit
        for lead, name, rx in self.patterns:
            if name not in found and (lead is None or not lead.isdisjoint(s)) and rx.search(s):
                found.add(name)
        return found


def _leading_chars(alt: str) -> frozenset[str] | None:
    """The characters a match of ``alt`` can start with, when that is plain to see (a literal or a
    simple ``[…]`` class after any lookbehind); None when not."""
    while alt.startswith("(?<"):
        depth, i = 0, 0
        for i, ch in enumerate(alt):  # noqa: B007 - i is where the lookbehind ends, read after the loop
            depth += (ch == "(") - (ch == ")")
            if depth == 0:
                break
        alt = alt[i + 1 :]
    if not alt:
        return None
    if alt.startswith("\\d"):
        return frozenset("0123456789")
    if alt[0] == "[" and "]" in alt and alt[1] != "^":
        body = alt[1 : alt.index("]")]
        return None if "\\" in body or "-" in body else frozenset(body)
    return None if alt[0] in Lexicon._META else frozenset(alt[0])


def _alternatives(rx: str) -> list[str]:
    """The top-level alternatives of a pattern (``a|b(?:c|d)|e`` → ``a``, ``b(?:c|d)``, ``e``)."""
    out: list[str] = []
    cur: list[str] = []
    depth, in_class, escaped = 0, False, False
    for ch in rx:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur))
    return out



NOW_CUES = frozenset(name for name, _ in _CUES if name.startswith("now_"))
NOT_NOW_CUES = frozenset(name for name, _ in _CUES if not name.startswith("now_"))


# Danger concepts: word families that let the model carry what it learned from 斧头 to 菜刀 or
# from 池塘 to 水库 (one shared weight instead of one per word). Features only, never a verdict.
_CONCEPTS: tuple[tuple[str, str], ...] = (
    ("c_fire", r"火|烟|烧|焦|燃|炸|爆"),
    ("c_spark", r"火花|火星|打火|冒火|闪光|蓝光|噼里啪啦|噼啪|滋滋"),
    ("c_elec", r"电线|电箱|电表|配电|电闸|电缆|插座|插头|插线板|开关|变压器|变电|箱变|带电|漏电|触电|电到|电着|被电|充电桩|高压"),
    ("c_gas", r"煤气|燃气|天然气|瓦斯|液化气|气罐|沼气|臭鸡蛋|一氧化碳|中毒|报警器"),
    ("c_body", r"晕|昏|倒地|倒下|叫不醒|没反应|不省人事|抽搐|抽筋|口吐白沫|胸口|心口|心脏|喘|呼吸|透不过气|憋|噎|卡住喉|嘴歪|嘴角歪|说不出话|说话不清|半边|手脚发麻|"
               r"冷汗|脸色|发紫|发青|吐血|流血|出血|血止不住|头破|骨折|不能动|动不了|起不来|爬不起来|站不起来|羊水|见红|要生|烫伤|过敏|误吃|误喝|吞了|吃了好多|农药|安眠药"),
    ("c_weapon", r"刀|斧|棍|棒|钢管|铁棍|砖头|酒瓶|啤酒瓶|枪|凶器|砍|捅|刺|劈"),
    ("c_fight", r"打架|打人|打起来|互殴|群殴|打群架|殴打|拳打脚踢|追着|打老婆|打孩子|砸人|抢|按在地上|见血|杀人|弄死|打死"),
    ("c_thief", r"撬|小偷|贼|盗|翻墙|翻进|爬进|钻进|门锁|门把手|密码锁|防盗|手电|翻东西|翻柜子|动静|鬼鬼祟祟"),
    ("c_follow", r"跟着|跟踪|尾随|跟到|跟了|跟住|跟在|跟我|一路跟|盯着|偷看|徘徊|守着|等我"),
    ("c_lure", r"陌生|不认识|怪人|骗|哄|糖|零食|带走|抱走|抱起|拉.{0,2}手|上车|面包车"),
    ("c_child", r"孩子|小孩|小朋友|宝宝|娃|儿子|女儿|闺女|孙子|孙女|外孙|细路|BB|男孩|女孩|小姑娘|小学生|学生|岁"),
    ("c_elder", r"老人|老太|老头|大爷|大妈|爷爷|奶奶|外公|外婆|阿公|阿婆|阿伯|老伴|我爸|我妈|老爷子|婆婆|公公|姥"),
    ("c_high", r"楼顶|天台|顶楼|屋顶|栏杆|护栏|窗台|窗外|窗户外|阳台外|防盗窗|防盗网|空调外机|空调架|空调板|边上|边沿|边缘|高空|高处|吊|悬|挂在|外墙|半空|\d+楼|[十二三四五六七八九]+楼"),
    ("c_jump", r"跳|不想活|不活了|想死|去死|活着没意思|活够|轻生|想不开|割腕|割手|遗书|告别|再见|烧炭|封住|绑着石头"),
    ("c_water", r"水里|河|湖|塘|池|江|海|水库|井|水缸|浴缸|泳池|游泳|落水|掉进|跌落|冲走|扑腾|挣扎|沉|溺|呛水|漂"),
    ("c_trap", r"困|关在|关着|关住|锁在|反锁|卡在|卡住|卡着|出不来|出不去|打不开|下不去|压在|压住|埋|被关|停在.{0,6}中间|门开着|没关门|往下掉|往下坠|下坠|冲顶"),
    ("c_lift", r"电梯|𨋢|轿厢"),
    ("c_fall", r"掉|砸|扔|丢下|抛|坠|塌|倒塌|要倒|快倒|晃|松动|脱落|往下落|落下|掟|刮断|吹掉|碎了一地|悬着"),
    ("c_flood", r"淹|进水|浸|漫|灌|水管|爆管|爆裂|管子|总阀|到膝|没过|积水|水位|涨|泡|喷水|往外喷|哗哗"),
    ("c_gone", r"不见|找不到|找不着|没回|没有回|还没回来|走丢|走失|丢了|跟丢|走散|没影|联系不上|失踪|唔见"),
    ("c_distress", r"救命|快来|来人|喊|哭|尖叫|叫不|没人应|不应|吓坏|害怕|好怕|不敢"),
)
_LEXICON = Lexicon(_CUES + _CONCEPTS)  # one pass finds both
_FLAG = {name: f"__e_{name}__" for name, _ in _CUES + _CONCEPTS}


def cue_names(simplified: str) -> set[str]:
    """The names of the cues (``_CUES``) and danger concepts (``_CONCEPTS``) present in a message."""
    return _LEXICON(simplified)


def cues(names: set[str]) -> list[str]:
    """Cue and concept names as model features (pseudo-words), plus whether any now / not-now cue
    is present."""
    out = [_FLAG[n] for n in sorted(names)]
    now = not NOW_CUES.isdisjoint(names)
    notnow = not NOT_NOW_CUES.isdisjoint(names)
    out.append("__e_now__" if now else "__e_nonow__")
    if notnow:
        out.append("__e_notnow__" if not now else "__e_mixed__")
    return out


# ---------------------------------------------------------------- decision
# possible / emergency / sure / notnow: see decide(). chatter: a possible danger the category
# model calls chatter is filed only from this P on (「已经转给我爸了」 is no ticket at P 0.3).
# sure 0.95 (was 0.9): a line of heldout.txt (「半夜有人在楼下大喊大叫砸啤酒瓶」) sat at P 0.896 with no
# now cue, so one retraining could flip it into a false alarm; sure only moves messages between the
# emergency and possible-danger tiers (both get the number and advice at once).
DEFAULT_THRESHOLDS = {"possible": 0.3, "emergency": 0.65, "sure": 0.95, "notnow": 0.6, "chatter": 0.5}


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str
    tier: str  # "emergency" | "possible"
    probability: float  # P(this message reports some emergency kind)


def decide(probs: list[float], names: set[str], thresholds: dict[str, float]) -> Verdict | None:
    """The tier from the model's probabilities (ordered as :data:`CLASSES`) and the cue names."""
    p_any = 1.0 - probs[-1]
    if p_any < thresholds["possible"]:
        return None
    best = max(range(len(probs) - 1), key=probs.__getitem__)
    kind = CLASSES[best]
    now = not NOW_CUES.isdisjoint(names)
    notnow = not NOT_NOW_CUES.isdisjoint(names)
    if notnow and not now:  # only cues of "not now": never an emergency, a possible danger when likely
        return Verdict(kind, "possible", p_any) if p_any >= thresholds["notnow"] else None
    if p_any >= thresholds["emergency"] and (now or p_any >= thresholds["sure"]):
        return Verdict(kind, "emergency", p_any)
    return Verdict(kind, "possible", p_any)


def category_for(kind: str, model_category: Category, model_sure: bool) -> Category:
    """The category of an emergency of ``kind``: the kind's own, or another it allows when the
    category model is sure of it."""
    allowed = BY_CODE[kind].categories
    if model_sure and model_category in allowed:
        return model_category
    return allowed[0]


class EmergencyModel:
    """The learned part: a packed linear model over the classifier's words, char n-grams and
    the cue flags, with the decision thresholds it was calibrated with."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from core.classifier.features import PackedLinear

        if tuple(spec["classes"]) != CLASSES:
            raise ValueError("the model's emergency kinds differ from core.classifier.emergency.KINDS; retrain with `linli train`")
        self.linear = PackedLinear(list(CLASSES), spec["bias"], spec["word"], spec["char"], True)
        self.thresholds = {**DEFAULT_THRESHOLDS, **spec.get("thresholds", {})}

    def probabilities(self, words: list[str], compact: str, simplified: str, names: set[str]) -> list[float]:
        """P(kind) for every class of :data:`CLASSES`; ``words`` are the category model's tokens."""
        from core.classifier.features import softmax

        return softmax(self.linear.scores(words + features(simplified, names), compact))


def features(simplified: str, names: set[str]) -> list[str]:
    """The emergency model's pseudo-words on top of the category model's tokens."""
    return cues(names)
