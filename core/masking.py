"""Masking phone and ID numbers in text shown to a group chat.

Residents (and care centres relaying for elders) write phone numbers into requests; the
ticket keeps them for the people who handle it, but a group of hundreds never sees them.

People write numbers in many ways: ``138 0013 8000``, ``+86-138-0013-8000``, ``＋８６ １３８…``
(full-width), with non-breaking or ideographic spaces, dots, brackets (``(021)-1234-5678``),
IDs in groups or glued to letters (``sfz110101199003071234``). So the text is normalised first
(NFKC, every Unicode digit to 0-9) into runs of digit groups joined by separators, with a map
back to the original characters; a number is recognised in the run, and only its digits are
replaced in the original text, so everything else (separators, full-width forms, words) stays
as it was.

Recognised, each as a whole number made of consecutive groups of one run:
- mobiles ``1[3-9]`` + 9 digits, after an optional ``86``/``0086`` (``+`` is a separator):
  first 3 and last 4 stay (``138****8000``);
- resident IDs, 18 digits (the last may be X) or the old 15 digits: first 4 and last 4 stay;
- landlines with an area code, ``0`` + 9 to 11 digits (``010 12345678``, ``0571-8765432``):
  the area code and last 2 stay.
Shorter numbers (ticket numbers, rooms like 3栋502, 110/119/120, amounts, dates) never match:
a match must start and end at group edges, and dates, amounts and times are not 11 digits
starting with 1[3-9], nor 15/18 digits, nor 10–12 digits starting with 0.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# Characters that may sit between the digit groups of one number (besides spaces and dashes).
_SEPARATOR_CHARS = frozenset("+.·•・()[]【】〔〕")
_LONGEST = 18  # digits in the longest number recognised (an ID; 0086 + a mobile is 15)
_SHORTEST = 10  # … and in the shortest (a landline: 0 + area code + number)
_DECIMAL = re.compile(r"\d")  # every Unicode decimal digit (full-width too)
# Characters that are not decimal digits but that NFKC turns into some (superscripts, fractions,
# circled and parenthesised numbers, ㋀-style dates …), from unicodedata; a test keeps it complete.
_OTHER_DIGITS = re.compile(
    "[\u00b2-\u00b3\u00b9\u00bc-\u00be\u2070\u2074-\u2079\u2080-\u2089\u2150-\u215f\u2189\u2460-\u249b"
    "\u24ea\u3251-\u325f\u32b1-\u32cb\u3358-\u3370\u3378-\u3379\u339f-\u33a6\u33a8\u33af\u33e0-\u33fe"
    "\U0001f100-\U0001f10a]")
_MAX_GAP = 4  # separator characters allowed between two groups ("( 021 ) - 1234": ") - ")
_AREA_3 = ("010", "02")  # Beijing, and 02x: three-digit area codes; all others have four


def _is_separator(ch: str) -> bool:
    if ch in _SEPARATOR_CHARS:
        return True
    cat = unicodedata.category(ch)
    # Zs: every space (NBSP, ideographic, thin …); Zl/Zp: line/paragraph separators;
    # Pd: every dash; Cf: zero-width and other invisible format characters; tabs and newlines.
    return cat in ("Zs", "Zl", "Zp", "Pd", "Cf") or ch in "\t\r\n\v\f"


@dataclass
class _Char:
    """One character of the normalised text and the index of the original character it came from."""

    ch: str
    src: int


def _normalise(text: str) -> list[_Char]:
    """NFKC per character (so each maps back to one original), Unicode digits to ASCII, x to X."""
    out: list[_Char] = []
    for i, original in enumerate(text):
        for ch in unicodedata.normalize("NFKC", original):
            if ch.isdecimal():
                ch = str(unicodedata.decimal(ch))
            elif ch == "x":
                ch = "X"
            out.append(_Char(ch, i))
    return out


def _runs(chars: list[_Char]) -> list[list[list[_Char]]]:
    """Runs of digit groups (a group may end in X) separated by at most ``_MAX_GAP`` separators."""
    runs: list[list[list[_Char]]] = []
    groups: list[list[_Char]] = []
    group: list[_Char] = []
    gap = 0
    for c in chars:
        if c.ch.isdigit():
            if group and group[-1].ch == "X":  # X only ends a group
                groups.append(group)
                group = []
            if not group and groups and gap > _MAX_GAP:
                runs.append(groups)
                groups = []
            group.append(c)
            gap = 0
        elif c.ch == "X" and group and group[-1].ch.isdigit():
            group.append(c)
        elif c.ch == "X" and not group and groups and gap <= _MAX_GAP:  # an ID's check digit written apart: "…123 X"
            groups.append([c])
            gap = 0
        else:
            if group:
                groups.append(group)
                group = []
                gap = 0
            if _is_separator(c.ch):
                gap += 1
            elif groups:
                runs.append(groups)
                groups = []
    if group:
        groups.append(group)
    if groups:
        runs.append(groups)
    return runs


def _masked_positions(digits: str) -> tuple[int, int] | None:
    """(start, end) of the digits to hide when ``digits`` is a whole phone or ID number, else None."""
    n = len(digits)
    if "X" in digits[:-1]:
        return None
    for prefix in ("", "86", "0086"):
        rest = digits[len(prefix):]
        if digits.startswith(prefix) and len(rest) == 11 and rest[0] == "1" and rest[1] in "3456789" and rest.isdigit():
            return len(prefix) + 3, len(prefix) + 7
    if n == 18 and digits[:17].isdigit():
        return 4, 14
    if n == 15 and digits.isdigit():
        return 4, 11
    if 10 <= n <= 12 and digits[0] == "0" and digits.isdigit():
        area = 3 if digits.startswith(_AREA_3) else 4
        return area, n - 2
    return None


def _spans(text: str, *, whole: bool = False) -> set[int]:
    """Indices of the original characters to replace with '*' (every digit of the number when ``whole``)."""
    hidden: set[int] = set()
    for groups in _runs(_normalise(text)):
        start = 0
        while start < len(groups):
            candidates: list[tuple[int, list[_Char]]] = []  # (end, chars) of numbers starting here
            chars: list[_Char] = []
            for end in range(start + 1, len(groups) + 1):
                chars = chars + groups[end - 1]
                if len(chars) > _LONGEST + 1:  # + an X glued on after it
                    break
                candidates.append((end, chars))
            for end, chars in reversed(candidates):  # the longest whole number first
                where = _masked_positions("".join(c.ch for c in chars))
                if where is None and chars[-1].ch == "X":  # an X glued on after a number: a word, not a check digit
                    where = _masked_positions("".join(c.ch for c in chars[:-1]))
                if where is not None:
                    hidden.update(c.src for c in (chars if whole else chars[where[0]:where[1]]) if c.ch.isalnum())
                    start = end
                    break
            else:
                start += 1
    return hidden


def mask(text: str) -> str:
    """``13800138000`` → ``138****8000``; ``138 0013 8000`` → ``138 **** 8000``; ID
    ``110101199003071234`` → ``1101**********1234``; the rest of the text is left as written."""
    if len(_DECIMAL.findall(text)) < _SHORTEST and not _OTHER_DIGITS.search(text):
        return text  # too few digits for any number recognised: most replies (#12, 3栋502) stop here
    hidden = _spans(text)
    if not hidden:
        return text
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def contains_private_number(text: str) -> bool:
    """True when ``mask`` would change the text."""
    return mask(text) != text


# -- public text: no numbers, no names ------------------------------------------------------------

# The commonest single-character surnames (about nine in ten people in China carry one of them).
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金"
    "石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁"
    "岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
# Words that follow a surname to name a person: 张阿姨, 王师傅, 李大爷, 陈老师, 刘书记 …
HONORIFICS = ("阿姨", "师傅", "大爷", "大妈", "大娘", "奶奶", "爷爷", "叔叔", "大叔", "阿婆", "阿公", "婆婆", "伯伯", "大伯",
              "大姐", "大哥", "姐姐", "哥哥", "老师", "女士", "先生", "小姐", "同志", "书记", "主任", "经理", "医生", "护士",
              "老太", "老头", "师父", "姨", "叔", "婶", "嫂", "伯", "姐", "哥", "总", "工")
_SURNAME_CLASS = "[" + "".join(sorted(SURNAMES)) + "]"
_FAMILIAR = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾"  # 老王, 小李: the commonest only
_TITLED = re.compile(f"(?:老|小)?{_SURNAME_CLASS}(?:{'|'.join(HONORIFICS)})|(?:老|小)[{_FAMILIAR}](?![子女路车])")


def _person_names(text: str) -> list[tuple[int, int]]:
    """Spans of people's names: a surname with a title (张阿姨, 老王) and full names jieba tags as
    person names (李建国), when they start with a common surname."""
    import jieba.posseg  # the classifier loads jieba's dictionary anyway

    spans = [(m.start(), m.end()) for m in _TITLED.finditer(text)]
    at = 0
    for word, flag in jieba.posseg.cut(text):
        if flag.startswith("nr") and 2 <= len(word) <= 3 and word[0] in SURNAMES:
            spans.append((at, at + len(word)))
        at += len(word)
    return spans


@functools.lru_cache(maxsize=8192)
def anonymise(text: str) -> str:
    """Text anyone may read (Open311 public reads): every digit of a phone or ID number becomes '*'
    and people's names become 某某 (张阿姨 → 某阿姨, 李建国 → 某某); the rest is left as written.

    Finding unknown full names takes jieba's HMM (a few ms per text), so results are cached:
    a public list of a thousand requests is read again at the cost of the lookups."""
    hidden = _spans(text, whole=True) if len(_DECIMAL.findall(text)) >= _SHORTEST or _OTHER_DIGITS.search(text) else set()
    out: list[str | None] = ["*" if i in hidden else ch for i, ch in enumerate(text)]
    for start, end in sorted(_person_names(text), key=lambda se: (se[0], -se[1])):
        word = text[start:end]
        title = next((h for h in HONORIFICS if word.endswith(h) and len(word) > len(h)), None)
        replacement = "某" + title if title else "某某"
        if out[start] is None:
            continue  # inside a longer name already replaced
        out[start] = replacement
        for i in range(start + 1, end):
            out[i] = None
    return "".join(ch for ch in out if ch is not None)
