"""Corpus files: loading, deterministic augmentation and compositional generation.

File format (``config/classifier/corpus/*.txt``)::

    [category]          # a taxonomy code
    一条消息             # urgency normal
    ! 一条消息           # urgency urgent
    !! 一条消息          # urgency emergency

Emergency files (``emergency_train.txt``, ``emergency_heldout.txt``) label emergency kinds
instead of categories, and group lines by phrasing so that validation can hold out whole
groups::

    [kind:fire]         # an emergency kind (core.classifier.emergency.KIND_CODES) ...
    [kind:none]         # ... or "none": a hard negative (looks dangerous, is no emergency now)
    @ fire-oilpan       # a group: the lines below, up to the next "@" or section, share a phrasing
                        # (only in [kind:…] sections: elsewhere "@李网格员 …" is a message)
    厨房油锅着火了

Their examples have ``kind`` set (``"none"`` for hard negatives), ``group`` set, and an empty
``category`` (not labelled). The two kinds of section may be mixed in one file.

``load_examples`` also reads JSON lines (``text``, ``category``, optional ``urgency``, optional
``emergency_kind`` — a kind code, or null/"none" for a hard negative — and ``group``) and TSV
(``category<TAB>urgency<TAB>text``) so that ``linli eval`` takes any of them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from core.taxonomy import Category, Urgency

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "classifier"
CORPUS_DIR = CONFIG_DIR / "corpus"
TRAIN_FILES = ("train.txt",)
HELDOUT_FILE = CORPUS_DIR / "heldout.txt"
EMERGENCY_TRAIN_FILE = CORPUS_DIR / "emergency_train.txt"
EMERGENCY_HELDOUT_FILE = CORPUS_DIR / "emergency_heldout.txt"

_CODES = {c.value for c in Category}


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    category: str  # "" when the line is labelled with an emergency kind only
    urgency: str = Urgency.NORMAL.value
    kind: str | None = None  # emergency kind code, "none" for a hard negative, None: not labelled
    group: str | None = None  # phrasing group (emergency files), for group k-fold validation


def parse_sections(lines: Iterable[str]) -> list[Example]:
    from core.classifier.emergency import KIND_CODES, NONE

    out: list[Example] = []
    cur: str | None = None
    kind: str | None = None
    group: str | None = None
    for raw in lines:
        line = raw.rstrip("\n").strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]") and line[1:-1] in _CODES:
            cur, kind, group = line[1:-1], None, None
            continue
        if line.startswith("[kind:") and line.endswith("]"):
            kind = line[6:-1].strip()
            if kind not in KIND_CODES and kind != NONE:
                raise ValueError(f"unknown emergency kind {kind!r}; valid: {', '.join(KIND_CODES)}, {NONE}")
            cur, group = None, None
            continue
        if kind is not None and line.startswith("@"):  # in category sections "@名字 …" is a message
            group = line[1:].strip() or None
            continue
        if kind is not None:
            urgency = Urgency.EMERGENCY.value if kind != NONE else ""
            out.append(Example(line, "", urgency, kind, group))
            continue
        if cur is None:
            raise ValueError(f"line before any [category] or [kind:…] header: {line!r}")
        urgency = Urgency.NORMAL.value
        if line.startswith("!! "):
            urgency, line = Urgency.EMERGENCY.value, line[3:].strip()
        elif line.startswith("! "):
            urgency, line = Urgency.URGENT.value, line[2:].strip()
        out.append(Example(line, cur, urgency, None, group))
    return out


def load_examples(path: str | Path) -> list[Example]:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".jsonl", ".json"):
        out = []
        for line in text.splitlines():
            if not line.strip():
                continue
            obj = json.loads(line)
            kind = obj.get("emergency_kind", False)
            kind = None if kind is False else (kind or "none")
            cat = obj.get("category") or ("" if kind is not None else "chatter" if obj.get("is_request") is False else "other")
            urg = obj.get("urgency") or ("" if kind is not None else "normal")
            group = obj.get("group")
            out.append(Example(str(obj.get("text", "")), cat, urg, kind, None if group is None else str(group)))
        return out
    if path.suffix == ".tsv":
        out = []
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) == 2:
                parts = [parts[0], "normal", parts[1]]
            cat, urg, txt = parts[0], parts[1] or "normal", "\t".join(parts[2:])
            out.append(Example(txt, cat, urg))
        return out
    return parse_sections(text.splitlines())


# Hard-negative groups of emergency_train.txt that are chatter, not requests: figurative
# speech, fake videos and rumours, drills and notices, past or handled events, news, hearsay,
# procedure and "what if" questions, tips, cooking, games and TV, everyday scenes. The category
# model learns them as chatter too (a past fire or a game is no ticket); the emergency model
# keeps them as "none" in its own group folds. A group is named ``ng-<stem>[-more|-N|-…]``.
CHATTER_NEGATIVE_STEMS = frozenset(
    "fig fake rumour drill notice past news hearsay procedure hypothetical hypo tips cooking not game "
    "everyday minor traditional voice media misc rescue safety trad pass height mixed".split()
)


def chatter_negative(ex: Example) -> bool:
    """A hard negative of one of the :data:`CHATTER_NEGATIVE_STEMS` groups."""
    g = ex.group or ""
    return ex.kind == "none" and g.startswith("ng-") and g[3:].split("-", 1)[0] in CHATTER_NEGATIVE_STEMS


def training_examples() -> list[Example]:
    """The category model's hand-written lines: the training files, plus the emergency file's
    chatter hard negatives labelled ``chatter`` (their ``kind`` stays ``none``)."""
    out: list[Example] = []
    for name in TRAIN_FILES:
        out += load_examples(CORPUS_DIR / name)
    out += [replace(ex, category=Category.CHATTER.value, urgency=Urgency.NORMAL.value)
            for ex in load_examples(EMERGENCY_TRAIN_FILE) if chatter_negative(ex)]
    return out


# ---------------------------------------------------------------- augmentation
_FILLERS_START = ("那个", "就是", "那个就是", "嗯", "呃", "哎", "那个那个", "我说一下啊", "跟大家说一下")
_FILLERS_END = ("啊", "呀", "哈", "呢", "吧", "啊啊", "嘛")
_PUNCT = set("，,。.！!？?；;：:、~～…")
_PLACES = ("3栋", "5号楼2单元", "7幢", "12号楼3单元401", "2栋1单元", "6号楼", "我们小区", "我们楼", "我们单元",
           "幸福里小区", "18栋", "10号楼", "4栋302", "9幢2单元", "建设路", "人民路88号", "解放街", "和平巷3号", "B区")
_ASKS = ("麻烦处理一下", "请尽快处理", "谢谢", "能不能管一管", "怎么办啊", "帮帮忙", "有没有人管", "麻烦网格员看一下",
         "请社区协调一下", "拜托了", "[抱拳]", "🙏", "急急急", "盼回复", "谢谢网格员", "希望尽快解决", "好几天了")
_CHAT_TAILS = ("[强]", "[玫瑰]", "😂", "👍", "哈哈", "[呲牙]", "🌹", "[抱拳]", "~", "！", "[微笑]", "😊")


def _voice(text: str, rng: random.Random) -> str:
    """Voice-transcript style: no punctuation, fillers sprinkled in."""
    t = "".join(ch if ch not in _PUNCT else " " for ch in text)
    t = " ".join(t.split())
    if rng.random() < 0.7:
        t = rng.choice(_FILLERS_START) + t
    if rng.random() < 0.5:
        words = t.split(" ")
        t = (" " + rng.choice(("就是", "那个", "嗯"))).join(words) if len(words) > 1 else t
    if rng.random() < 0.5:
        t += rng.choice(_FILLERS_END)
    if rng.random() < 0.5:
        t = t.replace(" ", "")
    return t


def augment(examples: list[Example], seed: int = 7) -> list[Example]:
    """Deterministic variants of each line: voice style, Traditional script, place/ask."""
    import opencc

    s2t = opencc.OpenCC("s2t")
    rng = random.Random(seed)
    out: list[Example] = []
    for ex in examples:
        out.append(ex)
        out.append(replace(ex, text=_voice(ex.text, rng)))
        if rng.random() < 0.5:
            out.append(replace(ex, text=s2t.convert(ex.text)))
        if ex.category == Category.CHATTER.value:
            if rng.random() < 0.5:
                out.append(replace(ex, text=ex.text + rng.choice(_CHAT_TAILS)))
        elif not ex.category:  # emergency-kind lines: a place before, never an ask after (a hard negative is no request)
            if rng.random() < 0.5:
                out.append(replace(ex, text=rng.choice(_PLACES) + rng.choice(("", "，", " ", "这边", "那边")) + ex.text))
            continue
        elif rng.random() < 0.6:
            t = ex.text
            if rng.random() < 0.5:
                t = rng.choice(_PLACES) + rng.choice(("", "，", " ", "这边", "那边")) + t
            if rng.random() < 0.7:
                t = t.rstrip("。.!！") + rng.choice(("，", " ", "。", "")) + rng.choice(_ASKS)
            out.append(replace(ex, text=t))
    return out
