"""Join precision and recall of duplicate detection on labelled report pairs (``linli eval-duplicates``).

A pair file is JSON lines: ``{"a": "东门路灯坏了", "b": "東門路燈不亮", "same": true}``, optionally with
``people`` ("same" when one person sent both; default two people), ``minutes`` between them
(default 60), ``chat`` (the place the chat implies, e.g. "3栋"; default a community-wide chat) and
``tag`` (what the pair tests). Both texts go through the real classifier, as in the bot.

- *join precision*: of the pairs joined silently, how many are the same problem;
- *recall*: of the same-problem pairs, how many are joined or asked about (「和 #N 是同一处吗？」
  ends in a join when the resident says 是); *silent recall* counts only silent joins.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.classify import Classification
from core.duplicates import Report, Verdict, emergency_kind, judge

DEFAULT_WINDOW = timedelta(hours=72)
_T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def load_pairs(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every pair of the given JSON-lines files; a malformed line raises ValueError naming its place."""
    pairs = []
    for path in paths:
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                pair = json.loads(line)
                pair["a"], pair["b"], pair["same"] = str(pair["a"]), str(pair["b"]), bool(pair["same"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{n}: expected {{\"a\": …, \"b\": …, \"same\": true|false}} ({exc})") from None
            pairs.append(pair)
    return pairs


def report_of(text: str, result: Classification, person: str, at: datetime, chat: str | None) -> Report:
    return Report(text, result.category, person, at, emergency_kind(result), chat)


def verdict_of(pair: dict[str, Any], classify: Callable[[str], Classification], window: timedelta = DEFAULT_WINDOW) -> Verdict:
    """What the bot decides when ``pair['b']`` arrives while ``pair['a']`` is an open ticket."""
    chat = pair.get("chat")
    later = _T0 + timedelta(minutes=float(pair.get("minutes", 60)))
    b_person = "a" if pair.get("people") == "same" else "b"
    old = report_of(pair["a"], classify(pair["a"]), "a", _T0, chat)
    new = report_of(pair["b"], classify(pair["b"]), b_person, later, chat)
    return judge(new, old, window=window)


def evaluate_pairs(pairs: list[dict[str, Any]], classify: Callable[[str], Classification]) -> dict[str, Any]:
    """Counts, precision and recall (see the module doc), and the pairs decided wrongly."""
    outcome: Counter[tuple[bool, Verdict]] = Counter()
    errors = []
    for pair in pairs:
        verdict = verdict_of(pair, classify)
        outcome[(pair["same"], verdict)] += 1
        wrong = (verdict is Verdict.JOIN) != pair["same"] and not (pair["same"] and verdict is Verdict.ASK)
        if wrong:
            errors.append({**pair, "verdict": verdict.value})
    joined = outcome[(True, Verdict.JOIN)] + outcome[(False, Verdict.JOIN)]
    same = sum(v for (s, _), v in outcome.items() if s)
    return {
        "pairs": len(pairs), "same": same, "different": len(pairs) - same,
        "joined": joined, "asked": outcome[(True, Verdict.ASK)] + outcome[(False, Verdict.ASK)],
        "precision": outcome[(True, Verdict.JOIN)] / joined if joined else None,
        "recall": (outcome[(True, Verdict.JOIN)] + outcome[(True, Verdict.ASK)]) / same if same else None,
        "silent_recall": outcome[(True, Verdict.JOIN)] / same if same else None,
        "asked_different": outcome[(False, Verdict.ASK)],
        "errors": errors,
    }


def format_pairs_report(name: str, m: dict[str, Any], show_errors: int = 0) -> str:
    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f}%"

    lines = [
        f"{name}: {m['pairs']} pairs ({m['same']} same, {m['different']} different)",
        f"  join precision  {pct(m['precision'])}  ({m['joined']} joined silently)",
        f"  recall          {pct(m['recall'])}  (same pairs joined or asked 「是同一处吗？」)",
        f"  silent recall   {pct(m['silent_recall'])}",
        f"  asked           {m['asked']} ({m['asked_different']} of them different problems)",
    ]
    for e in m["errors"][:show_errors]:
        lines.append(f"  [{'same' if e['same'] else 'diff'} → {e['verdict']}] {e['a']} | {e['b']}  ({e.get('tag', '')})")
    return "\n".join(lines)
