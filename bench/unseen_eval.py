"""Measure the classifier on messages written outside the repository (kept out of it on purpose).

    PYTHONPATH=. python bench/unseen_eval.py DIR [-v]

DIR holds JSON-lines files written by someone who never saw the repo:

- ``emergency.jsonl``: ``{"text", "kind"}`` (an emergency kind code), every line an emergency now;
- ``hard_negatives.jsonl``: ``{"text", "why"}``: danger words, no emergency now;
- ``general.jsonl``: ``{"text", "is_request", "category"}``: everyday traffic.

Everything goes through ``core.classify.classify`` and ``core.dialogue.unsure`` exactly as the bot
decides (file, ask 「需要登记为诉求吗？」, or stay silent). ``-v`` prints every miss.
Duplicate pairs are measured by ``linli eval-duplicates DIR/duplicate_pairs.jsonl``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from core.classify import classify
from core.dialogue import unsure


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def emergencies(rows: list[dict], verbose: bool) -> None:
    hit, possible, total, unfiled = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    for r in rows:
        c, kind = classify(r["text"]), r["kind"]
        total[kind] += 1
        if c.urgency.value == "emergency":
            hit[kind] += 1
        elif c.possible_danger:
            possible[kind] += 1
        elif verbose:
            print("MISSED EMERGENCY", kind, r["text"])
        if not c.is_request and not unsure(c, r["text"]):
            unfiled[kind] += 1
    n = sum(total.values())
    print(f"emergency recall {sum(hit.values()) / n:.1%}, with possible danger "
          f"{(sum(hit.values()) + sum(possible.values())) / n:.1%}, not filed {sum(unfiled.values())} (n={n})")
    for kind in sorted(total, key=lambda k: hit[k] / total[k]):
        print(f"  {kind:14s} {hit[kind] / total[kind]:6.1%}  + possible {possible[kind]:2d}  n={total[kind]}")


def hard_negatives(rows: list[dict], verbose: bool) -> None:
    alarms = flags = 0
    for r in rows:
        c = classify(r["text"])
        if c.urgency.value == "emergency":
            alarms += 1
        elif c.possible_danger:
            flags += 1
        else:
            continue
        if verbose:
            print("FLAGGED", r.get("why", ""), c.urgency.value, r["text"])
    print(f"false alarms {alarms / len(rows):.1%}, possible-danger flags {flags / len(rows):.1%} (n={len(rows)})")


def general(rows: list[dict], verbose: bool) -> None:
    chatter = [r for r in rows if not r["is_request"]]
    requests = [r for r in rows if r["is_request"]]
    filed = asked = 0
    for r in chatter:
        c = classify(r["text"])
        if unsure(c, r["text"]):
            asked += 1
        elif c.is_request:
            filed += 1
            if verbose:
                print("FALSE TICKET", r["text"])
    print(f"chatter: false tickets {filed / len(chatter):.1%}, asked {asked / len(chatter):.1%} (n={len(chatter)})")
    missed = asked = right = 0
    for r in requests:
        c = classify(r["text"])
        if unsure(c, r["text"]):
            asked += 1
        elif not c.is_request:
            missed += 1
            if verbose:
                print("MISSED REQUEST", r["text"])
        right += c.category.value == r.get("category")
    print(f"requests: missed {missed / len(requests):.1%}, asked {asked / len(requests):.1%}, "
          f"category right {right / len(requests):.1%} (n={len(requests)})")


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "-v"]
    if not args:
        raise SystemExit(__doc__)
    folder, verbose = Path(args[0]), "-v" in sys.argv
    emergencies(load(folder / "emergency.jsonl"), verbose)
    hard_negatives(load(folder / "hard_negatives.jsonl"), verbose)
    general(load(folder / "general.jsonl"), verbose)


if __name__ == "__main__":
    main()
