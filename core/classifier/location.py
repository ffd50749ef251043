"""Location extraction: building / unit / room mentions and road names."""

from __future__ import annotations

import re

_NUM = r"(?:\d{1,4}|[一二三四五六七八九十百零两]{1,4})"
_BUILDING_RE = re.compile(
    rf"(?:{_NUM}(?:号楼|号院|栋|幢|座|号馆|期|区)(?:(?:\d{{1,2}}|[一二三四五六七八九十]{{1,2}})(?:单元|门(?!口)|号楼|栋|幢))?(?:-?\d{{2,4}}(?![\d栋幢号单]|楼(?![上下道梯]))(?:室|号|房)?)?"
    rf"|{_NUM}单元(?:\d{{2,4}}(?:室|号)?)?"
    rf"|\d{{1,3}}-\d{{1,2}}-\d{{2,4}}"
    rf"|\d{{3,4}}(?:室|房间))"
)
_ROAD_RE = re.compile(r"(?:大街|大道|胡同|路|街|巷|弄|里)(\d{1,4}(?:号|弄|巷)(?:\d{1,4}号)?)?")
_LOC_CHARS = frozenset("栋幢单元座号期室-路街巷弄胡里")
# Characters that cannot be part of a road name: the name is the tail after the last one.
_NOT_NAME = re.compile(r"[的了在是有这那个条把被往到从去走过上下里面边旁口门前后着沿对向跟给让叫说要想一我你他她它们家都也还就很太又再才]")
_ROAD_STOP = frozenset(
    "马路 道路 公路 小路 大路 出路 走路 山路 水路 铁路 网路 线路 思路 套路 一路 半路 来路 去路 后路 进路 活路 迷路 电路 管路 "
    "赶路 让路 带路 修路 开路 路路 街 大街 小街 上街 逛街 过街 沿街 临街 当街 满街 一街 整街 巷 小巷 深巷 胡同 里 邻里 公里 这里 那里 哪里 家里 "
    "心里 夜里 屋里 城里 村里 楼里 院里 区里 社区里 小区里 手里 群里 电梯里 水里 地里 梦里 弄 里弄 捉弄 摆弄 玩弄 嘲弄 愚弄 作弄 戏弄 弄弄 "
    "人行道路 机动车道路 车路 近路 远路 正路 邪路 歧路 岔路 十字路 丁字路 环路 支路 干路 辅路 主路 斑马路 柏油路 水泥路 石子路 土路 坡路".split()
)


def extract_location(simplified: str) -> str | None:
    """'3栋502', '5号楼2单元', '12号楼3单元401', '解放路88号'; several joined by a space."""
    if not simplified or _LOC_CHARS.isdisjoint(simplified):
        return None
    found: list[str] = []
    for m in _BUILDING_RE.finditer(simplified):
        s = m.group(0)
        if s and s not in found:
            found.append(s)
        if len(found) >= 2:
            break
    for m in _ROAD_RE.finditer(simplified):
        start = m.start()
        if start < 1 or not "\u4e00" <= simplified[start - 1] <= "\u9fff":
            continue
        name = simplified[max(0, start - 6) : start] + m.group(0)[: len(m.group(0)) - len(m.group(1) or "")]
        number = m.group(1) or ""
        # Keep the tail of the name after any character that cannot be in a name.
        parts = _NOT_NAME.split(name[:-1])
        head = parts[-1] if parts else ""
        suffix = name[len(name) - (1 if not name.endswith(("大街", "大道", "胡同")) else 2) :]
        if name.endswith(("大街", "大道", "胡同")):
            head = _NOT_NAME.split(name[:-2])[-1]
        full = head + suffix
        if len(head) < 2 and not number:
            continue
        if not head or full in _ROAD_STOP or head in _ROAD_STOP or suffix == "里" and not number:
            continue
        loc = full + number
        if loc not in found:
            found.append(loc)
        break
    return " ".join(found[:3]) or None
