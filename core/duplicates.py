"""Is a new report the same problem as an open ticket? By object and place, not by category.

A report names an OBJECT (路灯, 电梯, 井盖, 下水道 …, from :data:`OBJECTS`: each a family of the
words residents use for it — 喇叭/音响, 栏杆/道闸, 污水/水沟/脏水, 煎饼摊/早点摊, a dark place for its
lamp) and a PLACE (buildings, units, rooms, gates, roads, landmarks, basement levels and the side of a
building, from the text, else from the chat: a group bound to one building implies it). Text is
folded first: Traditional to Simplified, Cantonese words to Mandarin (嗰度, 咗, 唔), gate aliases
(南边大门, 西大门 → 南门, 西门), the repeated words of a voice transcript said once; numerals and
unit words of buildings (六号楼, 6栋, 六幢, 6座) and basements (B2, 负二层, 地下二层) are one place.
:func:`judge` compares two reports:

- the same object at the same place joins, whatever categories the classifier chose;
- different places never join (3栋 vs 5栋, 东门 vs 北门, 楼前 vs 楼后), nor does an unknown place
  (「电梯坏了」 in a community-wide group says nothing about which lift);
- a problem inside a home (我家, 家里, 屋里 …) from different people is never joined silently:
  the verdict is ASK and the bot asks whether it is the same flat;
- personal matters (低保, 陪诊, 疫苗 …) of different people never join;
- repeat reports of one emergency (same kind, place not different) within
  :data:`EMERGENCY_WINDOW` join it;
- at the same place, things of no listed name (伸缩门, 排风扇, 坡道, 花坛 …: jieba's nouns and words
  ending like a thing, 门 机 扇 泵 …) decide when a report names no listed object: one thing (the
  same word, one inside the other, a shared two-character word, or compounds of one kind such as
  感应门/自动门) joins, different things stay apart; landmarks of no listed name (食堂, 游泳池,
  儿童乐园) are places by how their names end (园 场 池 堂 馆 亭 …);
- reports where one names no known object and no thing fall back to their words (shared character bigrams, the
  place and fillers taken out): at the same place, similar words join (of the same category, or
  plainly alike); where a place is not said, the old rule (same category and similar words).

Measured on config/classifier/corpus/duplicate_pairs*.jsonl by ``linli eval-duplicates``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from core.chinese import to_simplified
from core.classifier.location import extract_location
from core.classify import Classification
from core.models import Ticket, TicketReporter
from core.taxonomy import Category, Urgency
from core.ticket_states import TicketState

DEFAULT_THRESHOLD = 0.4
# Shared bigrams above which two reports at the same place are alike whatever their categories.
_WORDS_ALONE = 0.5
EMERGENCY_WINDOW = timedelta(minutes=30)
OPEN_STATES = [s for s in TicketState if s.is_open]
# Matters of one person (their pension, their errand, their vaccination): never one ticket for two people.
PERSONAL_CATEGORIES = frozenset({Category.SOCIAL_ASSISTANCE, Category.ELDERLY_CARE, Category.HEALTH})

# -- words ------------------------------------------------------------------------------------

_KEEP = re.compile(r"[\u4e00-\u9fff0-9a-z]+")
_PLACE = re.compile(r"(\d+)\s*(?:号楼|栋|幢|单元|楼|号)")
# Words that carry tone, not the problem: 「电梯又坏了，怎么还没人修」 ~ 「电梯坏了」.
_FILLER = re.compile(r"怎么|为什么|什么|一下|一直|已经|还是|好像|真的|现在|今天|我们|你们|大家|[了又的吗呢啊吧呀哦嘛还也都很就是我你他她它这那]")

# Canonical object → the words that name it (Simplified; Traditional input is folded first).
# Order matters: a longer, more specific name is taken out before a shorter one can match inside it
# (下水道盖子 is a 井盖, not a 下水道; 下水管 is a 下水道, not a 水管).
OBJECTS: dict[str, tuple[str, ...]] = {
    "井盖": ("窨井盖", "下水井盖", "下水道盖", "井盖", "井盖子", r"井[^，。,!！?？]{0,3}盖", "水沟盖", "沟盖", "人孔盖"),
    "楼道灯": ("楼道灯", "声控灯", "感应灯", "楼梯灯", "走廊灯", "楼道的灯", "楼梯的灯"),
    "路灯": ("路灯", "街灯", "路登", "灯杆", "路灯杆"),
    "电梯": ("电梯", "电悌", "升降梯", "升降机", "𨋢", "直梯", "轿厢"),
    "门禁": ("门禁", "单元门", "门禁卡", "门铃"),
    "卷帘门": ("卷帘门", "铁卷门", "卷闸门", "卷门"),
    "道闸": ("道闸杆", "道闸", "挡车杆", "起落杆", "抬杆", "闸机", "闸口", r"(?<![电水])闸(?![门刀])"),
    "护栏": ("护栏", "围栏", "扶手"),
    "栏杆": ("栏杆",),  # a barrier at a gate or a railing: either (see _GENERIC)
    "下水道": ("下水道", "下水管", "排水管", "排水沟", "阴沟", "污水井", "化粪池", "下水井", "地漏", "水沟",
               "污水", "脏水", "臭水", "反水", r"渠(?!道)"),
    "水管": ("自来水管", "水管", "管道", "管子", "爆管", "水龙头"),
    "垃圾": ("装修垃圾", "建筑垃圾", "垃圾桶", "垃圾箱", "垃圾站", "垃圾房", "垃圾堆", "垃圾", "水泥块", "烂木板",
             "碎砖", "渣土", "废木板", "大件杂物"),
    "树": ("树枝", "树杈", "树木", "大树", "枯树", "槐树", "柳树", "树"),
    "积水": ("积水", "一滩水", "一摊水", "一大滩水", "淹水", "水淹", "被淹", "水坑", "蓄水", "汪着水", "进水",
             r"积了[^，。,!！?？]{0,3}水", "水浸"),
    "路面": ("路面", "坑洼", "大坑", "塌陷", "地砖", "人行道", "陷下去", "凹下去", "下陷", "塌了一块", r"坑(?!位|人|钱)"),
    "座椅": ("长椅", "座椅", "椅子", "凳子"),
    "水箱": ("水箱", "水塔"),
    "健身器材": ("健身器材", "健身器械", "健身器", "单杠", "秋千", "滑梯", "漫步机", "扭腰器", "太空漫步"),
    "外墙": ("外墙", "墙皮", "瓷砖", "墙面", "墙砖", r"墙上的?砖"),
    "台阶": ("台阶",),
    "监控": ("监控", "摄像头", "探头"),
    "动物尸体": ("动物尸体", r"死[猫狗鸟鼠]", r"死了[一只条个]*[猫狗鸟]"),
    "窗户": ("窗户", "玻璃", "窗子"),
    "广场舞": ("广场舞", "跳舞"),
    "音响": ("音响", "音箱", "喇叭", "放歌", "放音乐", "外放", "音乐"),
    "摊贩": ("摆摊", "摊贩", "小摊", "流动摊", "占道经营", "小贩", "商贩", r"(?<![一大])摊(?!水)", "卖早点", "早点摊",
             r"卖(?:菜|水果|早餐|炸)"),
    "消防通道": ("消防通道", "消防车道", "生命通道"),
    "施工": ("施工", "工地", "装修"),
    "车辆": ("僵尸车", "乱停车", "乱停", r"停车(?!场|位|库)"),
    "电动车": ("电动车", "电瓶车", "充电"),
    "油烟": ("油烟", "烧烤"),
    "狗叫": ("狗叫", "犬吠", r"狗[^，。,!！?？]{0,8}叫"),
    "流浪狗": ("流浪狗", "野狗", r"狗[^，。,!！?？]{0,6}(?:咬|追|窜|扑)", r"[大黑黄白花]狗"),
    "狗粪": ("狗屎", "狗粪", "狗便"),
    "流浪猫": ("流浪猫", "野猫"),
    "漏水": ("漏水", "渗水", "滴水", "漏了", "在漏"),
    "停电": ("停电", "没电", "跳闸", "断电"),
    "停水": ("停水", "没水", "水压"),
    "暖气": ("暖气",),
    "燃气": ("燃气", "煤气", "天然气"),
    "噪音": ("太吵", "吵死", "噪音", "很吵", "吵得", "声音太大", "太大声", "扰民"),
    "异味": ("异味", "怪味", "臭", "反味"),
    "门锁": ("门锁", "锁坏"),
    "马桶": ("马桶", "厕所"),
    "空调": ("空调",),
    "网络": ("网络", "网断", "宽带", "没网"),
    "老鼠": ("老鼠",),
    "蟑螂": ("蟑螂",),
    "白蚁": ("白蚁",),
    "蚊子": ("蚊子",),
    "灯": ("灯",),  # a lamp of no named kind: the same as any lamp at the same place
    # A place said to be dark: its lamp is out (which lamp is told by the place).
    "黑": ("黑漆漆", "黑乎乎", "黑咕隆咚", "黑灯瞎火", "漆黑", "好黑", "太黑", "很黑", "全黑", "黑的", r"(?<!天)黑了",
           "摸黑", "看不见路", "什么都看不见"),
}
# Objects that name a condition rather than a thing: they join only when no thing is named.
_CONDITIONS = frozenset({"漏水", "停电", "停水", "噪音", "异味", "黑"})
# Things a community has one of (or that are heard all over it): the same one even where no place is said.
SHARED_OBJECTS = frozenset({"广场舞", "施工", "摊贩", "油烟"})
_GENERIC = {"灯": frozenset({"路灯", "楼道灯"}), "黑": frozenset({"灯", "路灯", "楼道灯"}),
            "栏杆": frozenset({"道闸", "护栏"})}
_OBJECT_RES = tuple((name, re.compile("|".join(words))) for name, words in OBJECTS.items())

_HOME_RE = re.compile(r"我家|我们家|咱家|俺家|俺们家|我屋|家里|家中|屋里|屋子里|我房间|卧室|客厅|我们屋"
                      r"|[爷奶婆公伯叔姨姐哥妈爸嫂]家")  # 「王爷爷家」: someone's home

_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"(\d{1,4}|[一二两三四五六七八九十]{1,3})"
_BUILDING_RE = re.compile(r"(?:" + _NUM + r"|(?<![a-z])([a-z]))\s*(?:号楼|栋|幢|座|号院)")
# Basement levels: B2, 负二层, 地下二层, 地库负二 → '2'.
_LEVEL_RE = re.compile(r"(?<![a-z0-9])b([1-5])(?!\d)|(?:负|地下)([1-5一二三四五])(?:层|楼)?")
_BASEMENT_SPOTS = frozenset({"车库", "停车场", "地下室"})
_UNIT_RE = re.compile(_NUM + r"\s*单元")
_ROOM_RE = re.compile(r"(?<![\d-])(\d{3,4})(?:室|号房|房间|的|家)|(?:栋|幢|号楼|单元|-)\s*(\d{3,4})(?!\d)")
_GATE_RE = re.compile(r"([东南西北])(?:大)?门|(大门|正门|后门|侧门|小门)")
_SIDE_RE = re.compile(r"(门口|门前|楼前|前面|前边|后面|后边|楼后|背后|东边|东侧|西边|西侧|南边|南侧|北边|北侧)")
_SIDES = {"门口": "前", "门前": "前", "楼前": "前", "前面": "前", "前边": "前", "后面": "后", "后边": "后",
          "楼后": "后", "背后": "后", "东边": "东", "东侧": "东", "西边": "西", "西侧": "西", "南边": "南",
          "南侧": "南", "北边": "北", "北侧": "北"}
# Landmarks inside a community, with the names residents use for them.
SPOTS: dict[str, tuple[str, ...]] = {
    "广场": ("中心广场", "广场"), "篮球场": ("篮球场", r"(?<![羽足网排])球场"), "羽毛球场": ("羽毛球场",),
    "足球场": ("足球场",), "网球场": ("网球场",), "停车场": ("停车场",),
    "车库": ("地下车库", "车库", "地库"), "花园": ("小花园", "花园"), "幼儿园": ("幼儿园",), "菜市场": ("菜市场", "菜场"),
    "楼顶": ("楼顶", "天台"), "地下室": ("地下室",), "健身区": ("健身区",), "小学": ("小学",),
    "快递柜": ("快递柜", "丰巢", "快递站", "驿站"), "活动室": ("活动室", "活动中心"), "车棚": ("车棚",),
    "公园": ("公园",), "河边": ("河边", "河道", "小河", "河里", "湖边"), "巷口": ("巷口",),
    "物业办公室": ("物业办公室", "物业办", "物业门口"), "大堂": ("大堂", "大厅"),
}
_SPOT_RES = tuple((name, re.compile("|".join(words))) for name, words in SPOTS.items())
_ROAD_END = re.compile(r"(?:路|街|大道|胡同|巷|弄|里)(?:\d{1,4}(?:号|弄|巷)(?:\d{1,4}号)?)?$")


# A landmark of no listed name is told by how its name ends (食堂, 游泳池, 儿童乐园, 保安亭, 草坪):
# Chinese names of places end in a few place morphemes, whatever the place is called.
_LANDMARK_END = re.compile(r"(?:园|场|池|堂|馆|亭|厅|站|坪|廊|会所)$")
# Words ending so that are not a place inside a community (or a whole community: 幸福家园).
_NOT_LANDMARKS = frozenset({"现场", "当场", "市场", "立场", "下场", "家园", "公园", "小区", "花园", "商场", "机场", "场",
                            "车站", "网站", "站", "客厅", "走廊", "天堂", "电池", "蓄电池", "锂电池", "餐厅", "饭堂", "讲堂",
                            "课堂", "池", "园", "堂"})


@functools.lru_cache(maxsize=4096)
def _words(s: str) -> tuple[tuple[str, str], ...]:
    """jieba's words of simplified text with their parts of speech (the classifier's dictionary).
    Cached: a new report is compared with every open ticket nearby, and POS tagging dominates that cost."""
    import jieba.posseg

    from core.classifier import jieba_tokenizer

    jieba_tokenizer()  # initialised once, with the domain user dictionary
    return tuple((w.word, w.flag) for w in jieba.posseg.cut(s))


@functools.lru_cache(maxsize=4096)
def _landmarks(s: str) -> frozenset[str]:
    """Landmarks not in :data:`SPOTS`, by the end of their name (listed spots are taken out first)."""
    for _, rx in _SPOT_RES:
        s = rx.sub(" ", s)
    return frozenset(w for w, _ in _words(s) if len(w) >= 2 and _LANDMARK_END.search(w) and w not in _NOT_LANDMARKS)


def _number(token: str) -> str:
    """「12」 → '12', 「十二」 → '12', 「三」 → '3'."""
    if token.isdecimal():
        return str(int(token))
    if "十" in token:
        tens, _, ones = token.partition("十")
        return str((_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0))
    return str(_CN_DIGITS.get(token[0], 0)) if len(token) == 1 else "".join(str(_CN_DIGITS.get(c, 0)) for c in token)


# Cantonese words (after Traditional → Simplified) and their Mandarin equivalents; longer first.
_DIALECT = (("嗰度", "那里"), ("嗰边", "那边"), ("嗰", "那"), ("唔着", "不亮"), ("咗", "了"), ("冇", "没"),
            ("唔", "不"), ("喺", "在"), ("啲", "些"), ("巷子", "巷"), ("胡同子", "胡同"))
# A word said twice in a voice transcript (「堵了 堵了」, 「三栋 三栋那个」) is said once.
_REPEAT = re.compile(r"(\S{1,6})(?:\s+\1)+")
# 「南边大门」, 「东边那个门口」, 「西大门」 → 南门, 东门口, 西门.
_GATE_ALIAS = re.compile(r"([东南西北])(?:边|面|侧)?(?:的|那个|这个)?\s*大?门")


def simplify(text: str) -> str:
    """Lower-cased Simplified text, full-width folded, Cantonese words and gate aliases in Mandarin,
    repeated words of a voice transcript said once."""
    import unicodedata

    s = to_simplified(unicodedata.normalize("NFKC", text or "")).lower()
    for word, plain in _DIALECT:
        s = s.replace(word, plain)
    return _GATE_ALIAS.sub(r"\1门", _REPEAT.sub(r"\1", s))


# -- places -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a report says the problem is. Empty sets: not said."""

    buildings: frozenset[str] = frozenset()
    units: frozenset[str] = frozenset()
    rooms: frozenset[str] = frozenset()
    gates: frozenset[str] = frozenset()
    spots: frozenset[str] = frozenset()
    roads: frozenset[str] = frozenset()
    sides: frozenset[str] = frozenset()
    home: bool = False
    levels: frozenset[str] = frozenset()  # basement levels (B2 → '2')

    @property
    def known(self) -> bool:
        """Whether anything tells where it is (a home alone does not: whose home?)."""
        return bool(self.buildings or self.units or self.rooms or self.gates or self.spots or self.roads
                    or self.levels)

    def label(self) -> str:
        """A short human description: 「3栋2单元502」, 「东门」, 「幸福路」."""
        parts = [f"{b}栋" for b in sorted(self.buildings, key=_sort_key)]
        parts += [f"{u}单元" for u in sorted(self.units, key=_sort_key)]
        parts += [f"B{level}" for level in sorted(self.levels)]
        parts += sorted(self.rooms, key=_sort_key) + sorted(self.gates) + sorted(self.spots) + sorted(self.roads)
        return "".join(parts)


def _sort_key(value: str) -> tuple[int, str]:
    return (int(value) if value.isdecimal() else 0, value)


def place_of(text: str, chat_place: str | None = None) -> Place:
    """The place a report names; a chat bound to one building (``chat_place``, e.g. 「3栋」) fills
    in the building when the text names none and speaks of no gate, road or landmark elsewhere."""
    s = simplify(text)
    buildings = frozenset(_number(m.group(1)) if m.group(1) else m.group(2) for m in _BUILDING_RE.finditer(s))
    levels = frozenset(_number(m.group(1) or m.group(2)) for m in _LEVEL_RE.finditer(s))
    units = frozenset(_number(m.group(1)) for m in _UNIT_RE.finditer(s))
    rooms = frozenset(m.group(1) or m.group(2) for m in _ROOM_RE.finditer(s))
    gates = frozenset((m.group(1) + "门") if m.group(1) else ("大门" if m.group(2) in ("大门", "正门") else m.group(2))
                      for m in _GATE_RE.finditer(s))
    spots = frozenset(name for name, rx in _SPOT_RES if rx.search(s)) | _landmarks(s)
    if levels:  # 「B2停车场」 and 「负二层车库」 are one place: the level says which
        spots -= _BASEMENT_SPOTS
    roads = frozenset(part for part in (extract_location(s) or "").split() if _ROAD_END.search(part))
    sides = frozenset(_SIDES[m.group(1)] for m in _SIDE_RE.finditer(s))
    place = Place(buildings, units, rooms, gates, spots, roads, sides, bool(_HOME_RE.search(s)), levels)
    if chat_place and not (place.buildings or place.gates or place.spots or place.roads or place.levels):
        implied = place_of(chat_place)
        place = Place(implied.buildings, place.units or implied.units, place.rooms, place.gates, place.spots,
                      place.roads, place.sides, place.home, place.levels)
    return place


def names_a_place(text: str) -> bool:
    """Whether the text says where (a building, unit, room, gate, road or landmark)."""
    return place_of(text).known


def same_place(a: Place, b: Place) -> bool | None:
    """True: the same place; False: different places; None: at least one does not say.

    Every kind of place both name must agree (buildings, units, rooms, gates, landmarks, roads, and
    the side of the building when both name one); when both name places of different kinds
    (3栋 vs 东门) they are different places.
    """
    agree = False
    for x, y in ((a.buildings, b.buildings), (a.units, b.units), (a.rooms, b.rooms), (a.gates, b.gates),
                 (a.spots, b.spots), (a.roads, b.roads), (a.levels, b.levels)):
        if x and y:
            if x != y:  # 「5栋」 and 「5栋和6栋」 are not known to be the same place either
                return False
            agree = True
    if a.sides and b.sides and not a.sides & b.sides:
        return False
    if agree:
        return True
    return False if a.known and b.known else None


# -- objects ------------------------------------------------------------------------------------


def objects_of(text: str) -> frozenset[str]:
    """The objects a report names, as canonical names from :data:`OBJECTS`."""
    s = simplify(text)
    found: set[str] = set()
    for name, rx in _OBJECT_RES:
        if rx.search(s):
            found.add(name)
            s = rx.sub("　", s)  # a specific name is not matched again by a shorter one inside it
    return frozenset(found)


def _things(objects: frozenset[str]) -> frozenset[str]:
    things = objects - _CONDITIONS
    return things or objects


def same_object(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two reports speak of the same object (a bare 灯 is the same as any lamp)."""
    a, b = _things(a), _things(b)

    def widen(objects: frozenset[str]) -> set[str]:
        return set(objects).union(*(_GENERIC.get(o, ()) for o in objects))

    return bool(widen(a) & widen(b))


# -- similar words (the fallback) -------------------------------------------------------------------


# Words of a voice transcript that say nothing: 「哎呀 那个 那个 三栋 …」.
_VOICE_FILLER = re.compile(r"哎呀|哎哟|唉|喂|嗯|呃|那个|这个|就是说|然后")


def _norm(text: str) -> str:
    """The words of a report without its place (buildings, gates, landmarks, sides …) and without
    fillers: what is left says what the problem is."""
    s = simplify(text)
    for rx in (_BUILDING_RE, _UNIT_RE, _ROOM_RE, _LEVEL_RE, _GATE_RE, _SIDE_RE, *(rx for _, rx in _SPOT_RES)):
        s = rx.sub(" ", s)
    return _FILLER.sub("", "".join(_KEEP.findall(_VOICE_FILLER.sub(" ", s))))


# The last character of a Chinese compound names what kind of thing it is (伸缩门, 感应门 are doors;
# 排水泵, 抽水泵 are pumps): a word ending in one of these is a thing even where jieba tags it a verb.
_THING_END = frozenset("门机器扇泵床箱柜桌椅凳棚道墙坛板梯灯杆架管线窗网栓牌井盖锁表屏塔亭车桩池坑洞缝")
# Nouns that are not the problem's object: people, times, the community itself.
_NOT_THINGS = frozenset({"小区", "小朋友", "老人家", "老人", "孩子", "小孩", "大人", "居民", "业主", "物业", "师傅", "保安",
                         "半夜", "晚上", "早上", "白天", "时候", "东西", "问题", "情况", "地上", "地方", "楼下", "楼上",
                         "旁边", "边上", "里面", "外面", "上面", "下面", "后头", "一下", "人", "风", "水", "钱", "老伴",
                         "楼道", "楼梯间", "走廊", "过道", "门口", "楼栋", "小区门"})


def things_of(text: str) -> frozenset[str]:
    """The things a report is about, listed or not (路灯; 伸缩门, 排风扇, 坡道, 花坛): the listed objects
    (not conditions such as 漏水) by their canonical names, then nouns and words ending like a thing,
    the place, fillers and people taken out."""
    s = _norm(text)
    listed = set()
    for name, rx in _OBJECT_RES:
        if rx.search(s):
            listed.add(name)
            s = rx.sub(" ", s)
    listed -= _CONDITIONS | set(_GENERIC)
    return frozenset(listed) | frozenset(w for w, flag in _words(s) if len(w) >= 2 and w not in _NOT_THINGS and not _LANDMARK_END.search(w)
                     and ((flag[0] == "n" and flag not in ("nr", "ns", "nt")) or flag == "l" or w[-1] in _THING_END))


def _same_thing(x: str, y: str) -> bool:
    """Two names of one thing: equal, one inside the other (售货机, 自动售货机), a shared two-character
    word (排水泵, 抽水泵), or one kind by the last character when both are compounds (感应门, 自动门)."""
    if x in y or y in x:
        return True
    if {x[i : i + 2] for i in range(len(x) - 1)} & {y[i : i + 2] for i in range(len(y) - 1)}:
        return True
    return len(x) >= 3 and len(y) >= 3 and x[-1] == y[-1] and x[-1] in _THING_END


def same_things(a: frozenset[str], b: frozenset[str]) -> bool | None:
    """True: the reports name one thing; False: both name things, none the same; None: one names none."""
    if not a or not b:
        return None
    return any(_same_thing(x, y) for x in a for y in b)


def bigrams(text: str) -> set[str]:
    t = _norm(text)
    return {t[i : i + 2] for i in range(len(t) - 1)} or ({t} if t else set())


def places(text: str) -> set[str]:
    """Building/unit numbers mentioned: 「3栋502」 → {'3'}, 「5号楼」 → {'5'}."""
    return set(_PLACE.findall(to_simplified(text or "")))


def similarity(a: str, b: str) -> float:
    """0..1: shared bigrams over the smaller text's bigrams; 0 when they name different places."""
    pa, pb = places(a), places(b)
    if pa and pb and not pa & pb:
        return 0.0
    ba, bb = bigrams(a), bigrams(b)
    if not ba or not bb:
        return 0.0
    return len(ba & bb) / min(len(ba), len(bb))


# -- the verdict --------------------------------------------------------------------------------


def emergency_kind(result: Classification) -> str | None:
    """The emergency kind of a classification (fire, gas …), None when it is not an emergency."""
    if result.urgency is not Urgency.EMERGENCY:
        return None
    return result.keywords[0] if result.keywords else "emergency"


class Verdict(StrEnum):
    JOIN = "join"  # the same problem: the new reporter joins the open ticket
    ASK = "ask"  # maybe the same home: ask the new reporter 「和 #N 是同一处吗？」
    SEPARATE = "separate"


@dataclass(frozen=True)
class Report:
    """One report as duplicate detection sees it."""

    text: str
    category: Category
    person: str
    at: datetime
    emergency: str | None = None  # the emergency kind (fire, gas …) when it is one
    chat_place: str | None = None  # the place the chat implies (a group of one building), or a known location

    @property
    def place(self) -> Place:
        return place_of(self.text, self.chat_place)

    @property
    def objects(self) -> frozenset[str]:
        return objects_of(self.text)


def judge(new: Report, old: Report, *, window: timedelta, threshold: float = DEFAULT_THRESHOLD) -> Verdict:
    """Whether ``new`` is the same problem as the open ticket first reported as ``old`` (see the module doc)."""
    gap = new.at - old.at
    if gap > window or gap < timedelta(0):
        return Verdict.SEPARATE
    pa, pb = new.place, old.place
    where = same_place(pa, pb)
    if where is False:
        return Verdict.SEPARATE
    if new.emergency and old.emergency:
        same_kind = new.emergency == old.emergency
        return Verdict.JOIN if same_kind and gap <= EMERGENCY_WINDOW else Verdict.SEPARATE
    one_person = new.person == old.person
    oa, ob = new.objects, old.objects
    by_object = bool(oa and ob)
    things = same_things(things_of(new.text), things_of(old.text)) if where else None
    if by_object:
        # Listed objects decide; a thing of no listed name both share (热水器) joins a pipe to its leak.
        alike = same_object(oa, ob) or bool(things and not (_things(oa) - _CONDITIONS and _things(ob) - _CONDITIONS))
    elif things is not None:
        # The same place, an object of no listed name: the words that name the things decide.
        alike = things
    elif where:
        # The same place and one report names no known object: alike in words (place and fillers
        # taken out), and of the same category unless the words are plainly alike.
        score = similarity(new.text, old.text)
        alike = score >= threshold and (new.category == old.category or score >= _WORDS_ALONE)
    else:
        alike = new.category == old.category and similarity(new.text, old.text) >= threshold
    if not alike:
        return Verdict.SEPARATE
    if one_person:
        return Verdict.JOIN
    if new.category in PERSONAL_CATEGORIES and old.category in PERSONAL_CATEGORIES:
        return Verdict.SEPARATE
    if pa.home or pb.home:
        if pa.rooms and pb.rooms:  # both name the flat, and same_place found it the same
            return Verdict.JOIN
        return Verdict.ASK
    if where:
        return Verdict.JOIN
    # No place on one side: the same lift or lamp cannot be told from another building's. One square
    # dance or building site per community can; reports matched on their words keep the old rule.
    shared = _things(oa) & _things(ob)
    if not by_object or (shared and shared <= SHARED_OBJECTS):
        return Verdict.JOIN
    return Verdict.SEPARATE


@dataclass(frozen=True)
class Match:
    """The open ticket a report duplicates, and whether to join or ask first."""

    ticket: Ticket
    verdict: Verdict


def find_duplicate(
    session: Session, *, grid_id: str | None, report: Report, window: timedelta,
    kind_of: Callable[[Ticket], str | None] = lambda ticket: None, exclude: int | None = None,
) -> Match | None:
    """The open ticket of the same grid, raised within ``window`` before the report, that it joins
    (newest first), else one to ask about; None if none. ``kind_of(ticket)`` gives an emergency
    ticket's kind (the bot classifies its text again; only emergencies of the last 30 minutes ask).
    ``exclude``: a ticket that is the report itself (checked again once its place is known)."""
    if grid_id is None or not report.category.is_request:
        return None
    candidates = session.exec(
        select(Ticket)
        .where(Ticket.grid_id == grid_id, col(Ticket.state).in_(OPEN_STATES),
               Ticket.created_at >= report.at - window, Ticket.created_at <= report.at,
               Ticket.id != (-1 if exclude is None else exclude))
        .order_by(col(Ticket.id).desc())
        .limit(100)
    ).all()
    if not candidates:
        return None
    mine = set(session.exec(select(TicketReporter.ticket_id).where(
        col(TicketReporter.person_key) == report.person, col(TicketReporter.ticket_id).in_([t.id for t in candidates]))))
    ask: Match | None = None
    for ticket in candidates:
        emergency = None
        if Urgency(ticket.urgency) is Urgency.EMERGENCY and report.at - ticket.created_at <= EMERGENCY_WINDOW:
            emergency = kind_of(ticket)
        elif Urgency(ticket.urgency) is Urgency.EMERGENCY:
            emergency = "past"  # an older emergency: never joined by a new report
        old = Report(ticket.text, Category(ticket.category), report.person if ticket.id in mine else ticket.created_by,
                     ticket.created_at, emergency, ticket.location)
        verdict = judge(report, old, window=window)
        if verdict is Verdict.JOIN:
            return Match(ticket, verdict)
        if verdict is Verdict.ASK and ask is None:
            ask = Match(ticket, verdict)
    return ask
