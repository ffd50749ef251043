"""Hand-written rules: urgent detection, notices, acknowledgements. (Emergencies are
``core.classifier.emergency``: a learned model with cues of now and not now.)

All rules run on ``Normalized.simplified`` (Simplified, punctuation kept) so that
clause boundaries are visible for negation ("不是着火，整栋楼停电").
"""

from __future__ import annotations

import re

# Words before an urgent hit, inside the same clause, that cancel it.
_NEGATION_RE = re.compile(
    r"(?:不是|并不是|并非|没有|没|不会|别|不要|防止|预防|谨防|以防|防范|假如|如果|要是|万一|担心|怕会|小心|注意|演习|演练|模拟|会不会|是不是|有没有|以免|避免|曾经|上次|去年|昨天|前天|新闻|遇到|遇上|碰到|如何|怎样|一旦|发生)[^，,。！？!?；;]{0,8}$"
)

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


# 「谢谢网格员帮忙」, 「感谢大家的关心」: thanks for help already given, nothing asked.
_THANKS_FOR_HELP_RE = re.compile(
    r"^(?:谢谢|感谢|多谢|感恩)[^，,。!！?？；;]{0,10}(?:帮忙|帮助|照顾|关心|关照|费心|辛苦)[了啦呀啊哈哦喔!！。~～\s]*$")


def thanks_for_help(simplified: str) -> bool:
    return bool(_THANKS_FOR_HELP_RE.match(simplified.strip()))
