"""Hand-written rules: emergency/urgent detection, notices, acknowledgements.

All rules run on ``Normalized.simplified`` (Simplified, punctuation kept) so that
clause boundaries are visible for negation ("不是着火，是烧烤的烟").
"""

from __future__ import annotations

import re

from core.taxonomy import Category

# ---------------------------------------------------------------- emergency
# (kind, pattern, default category). A hit is discarded when its clause is negated,
# hypothetical or about a drill/notice, or when the whole message says it is over.
_SUBJ_PERSON = r"(?:孩子|小孩|儿子|女儿|孙子|孙女|外孙女?|宝宝|小朋友|男孩|女孩|闺女|老人|老爷子|老太太|老太|老头|爷爷|奶奶|外公|外婆|姥姥|姥爷|阿公|阿嬷|阿婆|我爸|我妈|父亲|母亲|老伴|婆婆|公公|岁)"
EMERGENCY_PATTERNS: tuple[tuple[str, re.Pattern[str], Category], ...] = tuple(
    (kind, re.compile(rx), cat)
    for kind, rx, cat in (
        ("fire", r"(?<![不没])着火|起火|失火|火灾|烧起来|燃起来|火很大|火势|火苗|火光|明火|冒黑烟|浓烟|黑烟|冒烟|有烟(?![头味灰酒民花瘾囱])|好大的烟|很大的烟|全是烟|烟雾很大", Category.SAFETY_HAZARD),
        ("gas", r"(?:煤气|燃气|天然气|瓦斯|液化气)(?:味|泄漏|泄露|漏了|漏气|外泄)|(?:煤气|燃气|天然气|瓦斯|液化气)(?:管道?|管子|罐|表|阀门?|灶)?(?:好像|可能|像是)?(?:漏|泄)|漏气了|一氧化碳|煤气中毒", Category.UTILITIES),
        ("faint", r"晕倒|昏倒|晕过去|昏过去|昏迷|不省人事|没有?意识|叫不醒|抽搐|休克|倒地不起|倒下了|心脏骤停|没有?呼吸了|突然倒下|口吐白沫|嘴(?:也|都)?歪了|口眼歪斜|突然说不出话|突然说话不清|说话不清楚了|半边身子|(?:中风|脑梗|心梗)了|心脏病(?:犯|发作)|捂着胸口|胸口(?:剧痛|疼得)|(?<![得])喘不上气|(?<![得])喘不过气来|呼吸困难|嘴唇(?:都|发)?紫", Category.HEALTH),
        ("fall", r"(?:摔倒|跌倒|滑倒|摔了一跤|摔在地上|倒在地上|躺在地上|摔下来)[^。！？!?]{0,12}(?:起不来|站不起来|爬不起来|动不了|不能动|流血|起不了身|没反应)|(?:倒在地上|躺在地上)(?:了|起不来)?", Category.ELDERLY_CARE),
        ("lift", r"困在电梯|电梯[^。！？!?，,]{0,8}(?:困|关住|关在里面|出不来|卡住了?.{0,4}人|里有人)|电梯[^。！？!?]{0,10}(?:卡住|卡在|停在|困在|坏在|掉)[^。！？!?]{0,12}(?:里面|里头|里边)还?(?:关着|困着|有人|有(?:个|一个|两个)?(?:老人|小孩|孩子|老太太|大爷|孕妇))|被困|(?<![特贫])困人|困住|卡住了?[，,]?[^。！？!?]{0,6}(?:里面|里头)?还?有人|关在电梯|卡在电梯|电梯里(?:有人)?出不来", Category.SAFETY_HAZARD),
        ("violence", r"持刀|拿刀|拿着刀|动刀|砍人|捅人|捅了|见血|杀人|行凶|持械|拿着棍|砸门.{0,6}杀|要打死", Category.PUBLIC_SECURITY),
        ("missing", _SUBJ_PERSON + r"(?:[^。！？!?]{0,24}(?:走丢|走失|不见了|找不到了|找不着了|没回家|没回来|没有回来|失踪)|.{0,2}丢了)|走丢了|走失了|失踪了", Category.PUBLIC_SECURITY),
        ("flood", r"(?:家里|屋里|家中|客厅|卧室|厨房|房间|地下室|我家|屋子)[^。！？!?]{0,10}(?:进水了|淹了|被淹|淹水|水漫|全是水|水已经|没过脚|到膝盖|越来越深)|水管(?:爆|裂)|爆管|管道爆|淹到", Category.UTILITIES),
        ("other", r"救命|快救人|要跳楼|有人跳楼|触电|电到人|溺水|掉进(?:河|水|井|湖)|爆炸|快叫救护车|快打120|快打119", Category.OTHER),
    )
)

# Per kind, characters of which every match of its pattern contains at least one (read off
# each alternative: 烧起来 → 烧, 中风了 → 风 …). A kind's pattern runs only when the message
# has one of them, and a message with none of them skips the emergency rules altogether;
# about 70 % of messages do, and a set check costs ~0.2 µs where the patterns cost ~10 µs.
# (One regex alternation of all the patterns was measured too: slower than the per-kind
# searches, ~11 µs, because it has no literal prefix to skip ahead with.)
_TRIGGERS = {
    "fire": "火烧燃烟",
    "gas": "气斯碳",
    "faint": "晕昏省识醒搐休倒脏吸沫歪话半风梗胸喘紫",
    "fall": "摔跌倒躺",
    "lift": "困梯卡",
    "violence": "刀砍捅血杀凶械棍死",
    "missing": "丢失见找回",
    "flood": "水淹脚膝深爆",
    "other": "救跳触电溺掉爆打",
}
_TRIGGERED = tuple((frozenset(_TRIGGERS[kind]), kind, rx, cat) for kind, rx, cat in EMERGENCY_PATTERNS)
EMERGENCY_CHARS = frozenset("".join(_TRIGGERS.values()))

# Words before a hit, inside the same clause, that cancel it.
_NEGATION_RE = re.compile(
    r"(?:不是|并不是|并非|没有|没|不会|别|不要|防止|预防|谨防|以防|防范|假如|如果|要是|万一|担心|怕会|小心|注意|演习|演练|模拟|会不会|是不是|有没有|以免|避免|曾经|上次|去年|昨天|前天|新闻|遇到|遇上|碰到|如何|怎样|一旦|发生)[^，,。！？!?；;]{0,8}$"
)
# Whole-message contexts in which no emergency is reported right now.
_NOT_NOW_RE = re.compile(
    r"演习|演练|通知|公告|提示|提醒|注意防火|预防|新闻|据报道|转发|科普|知识|宣传|培训|"
    r"听说|据说|幸好|幸亏|还好发现|没人受伤|无人受伤|"
    r"已经?(?:扑灭|灭了|找到|找回|回家|回来|救出|出来了|没事|送医|送到医院|送去医院|处理好|修好|解决)|找到了|找回来了|虚惊|没事了|不用担心|别担心|别慌|不用慌|"
    r"烧烤|烤肉|熏腊肉|做饭|炒菜|油烟|抽烟|吸烟|烧纸|拜拜|炖|烧香|蚊香|艾灸|桑拿|"
    r"游戏|电影|电视剧|小说|做梦|梦见|笑死|哈哈"
)
_PET_RE = re.compile(r"狗|猫|泰迪|宠物|鹦鹉|八哥|鸟|兔|金毛|柯基|仓鼠|乌龟")
_PERSON_RE = re.compile(_SUBJ_PERSON)
_CLAUSE_END = re.compile(r"[，,。！？!?；;\s]")


def emergency(simplified: str) -> tuple[str, Category] | None:
    """(kind, default category) when the message reports an emergency happening now."""
    if EMERGENCY_CHARS.isdisjoint(simplified):
        return None
    hits = []
    for triggers, kind, rx, cat in _TRIGGERED:
        if triggers.isdisjoint(simplified):
            continue
        if kind == "missing" and _PET_RE.search(simplified) and not _PERSON_RE.search(simplified):
            continue  # a lost dog or cat is a neighbourly ask, not 110
        for m in rx.finditer(simplified):
            start = m.start()
            # Clause before the hit.
            j = start
            while j > 0 and not _CLAUSE_END.match(simplified[j - 1]):
                j -= 1
            if _NEGATION_RE.search(simplified[max(j, start - 10) : start]):
                continue
            hits.append((kind, cat))
            break
    if not hits:
        return None
    if _NOT_NOW_RE.search(simplified):
        # "不是着火，是烧烤的烟", "消防演习", "孩子已经找到了": a clear cancellation wins,
        # but a fire next to a drill notice in the *same* message stays cancelled only
        # when no strong alarm word is present.
        if not _ALARM_RE.search(simplified):
            return None
    return hits[0]


_ALARM_RE = re.compile(r"快报警|快打1[12]0|快叫|救命|快来人|快来救")

# ---------------------------------------------------------------- urgent
_URGENT_RE = re.compile(
    r"(?:整栋|整幢|整个|全部|全|一整个|整片|整条)[^，,。！？!?]{0,6}(?:停水|没水|断水|停电|没电|断电|停气|没气|停暖|没暖气|暖气停|燃气停|都停了|都没)"
    r"|(?:停水|没水|停电|没电|断水|断电)[^，,。]{0,6}(?:一整天|两天|三天|好几天|一天一夜|到现在)"
    r"|井盖[^，,。]{0,4}(?:丢|没了|被偷|不见|缺失|掉了|碎了)|窨井盖[^，,。]{0,4}(?:丢|没了|被偷|不见)"
    r"|(?:污水|粪水|脏水|臭水)[^，,。]{0,8}(?:漫|进楼|流进|倒灌|冒进|流了一)"
    r"|(?:独居|孤寡|一个人住)[^。！？!?]{0,20}(?:没药|药吃完|药用完|药没了|用完了|吃完了|联系不上|打不通|不应|没人应|好几天没)"
    r"|塌陷|塌了|(?:树|大树)[^，,。]{0,6}(?:倒了|刮断|刮倒|吹倒|压在|横在)"
    r"|(?:随时|马上|快要?)[^，,。]{0,3}(?:掉下来|掉下|塌|倒)"
    r"|打架|斗殴|打起来了|漏电|电线[^，,。]{0,4}(?:冒火|打火|发烫)|发烫|(?:冬天|寒冬|零下|冻得)[^。]{0,12}(?:暖气|供暖)"
    r"|(?:暖气|供暖)[^。]{0,12}(?:冻得|几度|扛不住|受不了)"
    r"|今天[^。]{0,6}(?:必须|一定要)|吸氧|坐轮椅[^。]{0,10}(?:医院|下楼)"
)


def urgent(simplified: str) -> bool:
    m = _URGENT_RE.search(simplified)
    if not m:
        return False
    j = m.start()
    return not _NEGATION_RE.search(simplified[max(0, j - 10) : j]) and not _NOTICE_RE.search(simplified)


# ---------------------------------------------------------------- chatter rules
# A notice or forward: a bracketed title or "XX通知：" at the start, or a forward marker.
_NOTICE_RE = re.compile(
    r"^\s*(?:【[^】]{0,20}(?:通知|公告|提示|提醒|预警|告知|公示)[^】]{0,6}】"
    r"|[^，,。!?！？]{0,16}(?:通知|公告|温馨提示|友情提示|提醒|告知书|预警)\s*[:：]"
    r"|(?:转发|转)[:：]|\[?转发\]?|温馨提示|友情提示|重要通知|紧急通知)"
)

_ACK_WORDS = frozenset(
    """收到 收到了 收到收到 好 好的 好滴 好哒 好嘞 好吧 好的好的 好的谢谢 谢谢 谢谢你 谢谢大家 谢谢谢谢 谢啦 多谢 多谢多谢 感谢 感恩
    嗯 嗯嗯 嗯呢 哦 哦哦 噢 对 对的 对对 是 是的 是的呢 是啊 ok okay 好的收到 收到谢谢 明白 明白了 了解 知道了 已阅 已读
    早 早安 早上好 早啊 上午好 中午好 下午好 晚上好 晚安 早晨 早晨好 你好 您好 大家好 哈哈 哈哈哈 呵呵 嘿嘿 嘻嘻 666 赞 点赞 同意 支持
    辛苦 辛苦了 辛苦啦 不客气 不用谢 没事 没关系 应该的 可以 行 行的 棒 厉害 牛 好棒 太好了 1 2 3 11 111""".split()
)
_LAUGH_RE = re.compile(r"^(?:哈|呵|嘿|嘻|h|a|6|1|\+)+$")


def obvious_chatter(norm_simplified: str, compact: str) -> bool:
    """Greetings, acknowledgements, laughter, stickers-only: never a request."""
    if not compact:
        return True
    if compact in _ACK_WORDS or _LAUGH_RE.match(compact):
        return True
    return False


def is_notice(simplified: str) -> bool:
    return bool(_NOTICE_RE.search(simplified))


_ACK_PREFIX_RE = re.compile(
    r"^(?:收到|好的|好嘞|好|ok|谢谢|感谢|多谢|知道了|明白|了解|嗯嗯?|对|是的|早上好|早安|晚安|晚上好|哈哈+|辛苦了?)"
    r"(?:[,，。!！~ ]|$)"
)


def ack_prefixed(simplified: str) -> bool:
    """'收到，马上转告家里老人': an acknowledgement opening the message."""
    return bool(_ACK_PREFIX_RE.match(simplified.lower()))


# Request cues: explicit asks. Used to widen the request side of the gate a little.
REQUEST_CUE_RE = re.compile(
    r"麻烦|请问|请帮|请尽快|请派|请安排|请物业|请社区|请处理|帮忙|帮帮|帮我|怎么办|怎么弄|咋办|能不能|可不可以|可以帮|有没有人管|"
    r"管管|管一下|处理一下|处理下|看一下|看看吧|修一下|投诉|举报|反映|反应一下|求助|救命|报警|没人管|没人修|没人理|不管|谁管|找谁|去哪|在哪里办|怎么申请|如何申请|需要什么材料"
)

# "Fixed, thanks" messages: a fix report with thanks and no complaint left.
_FIXED_RE = re.compile(r"(?:修好|弄好|处理好|解决|恢复|来水|来电|亮了|通了|清理完|清走|找到|剪了|不漏了|换新|换好|修过了|已处理)")
_FIXED_RE = re.compile(_FIXED_RE.pattern + r"|办下来|办好|到账|盖上|补好|补上|装好|装上|搬走|清走|剪完|修完")
_THANKS_RE = re.compile(r"谢|感谢|辛苦|点赞|给力|感恩")
_STILL_BAD_RE = re.compile(r"还没|又坏|还是不|没有修好|没修好|还在|仍然|依然|怎么|为什么|又开始|但是|可是|不过")


def thanks_for_fix(simplified: str) -> bool:
    return bool(_FIXED_RE.search(simplified) and _THANKS_RE.search(simplified) and not _STILL_BAD_RE.search(simplified))
