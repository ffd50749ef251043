"""Metrics for ``linli eval``: macro-F1, accuracy, gate error rates, emergency recall and
false alarms, Traditional vs Simplified accuracy, confusion matrix; for files with emergency-kind
labels (``[kind:…]`` sections, see ``core.classifier.corpus``), recall by kind and false alarms
on hard negatives."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from core.classifier.corpus import Example
from core.classify import Classification
from core.taxonomy import Category


class _Classifier(Protocol):
    def classify(self, text: str) -> Classification: ...


def evaluate_kinds(labelled: list[tuple[Example, Classification]]) -> dict[str, Any] | None:
    """Emergency recall by kind and false alarms on hard negatives, from (example, result) pairs
    whose example has a ``kind`` label. A kind line is *recognised* when the result is an
    emergency or a possible danger (the resident is given a number at once); a hard negative
    (kind "none") is a *false alarm* when it comes out an emergency, and *flagged* when it
    comes out an emergency or a possible danger."""
    labelled = [(ex, r) for ex, r in labelled if ex.kind is not None]
    if not labelled:
        return None
    by_kind: dict[str, Counter[str]] = {}
    for ex, r in labelled:
        c = by_kind.setdefault(str(ex.kind), Counter())
        c["n"] += 1
        flagged = r.emergency_kind is not None
        c["recognised"] += flagged
        c["right_kind"] += flagged and r.emergency_kind == ex.kind
        c["emergency"] += r.urgency.value == "emergency"
        c["filed"] += r.is_request
    neg = by_kind.pop("none", Counter())
    kinds = {
        k: {"n": c["n"], "recall": c["recognised"] / c["n"], "right_kind": c["right_kind"] / c["n"],
            "emergency_tier": c["emergency"] / c["n"]}
        for k, c in sorted(by_kind.items())
    }
    total = sum(c["n"] for c in by_kind.values())
    return {
        "kinds": kinds,
        "n_positive": total,
        "recall": sum(c["recognised"] for c in by_kind.values()) / total if total else None,
        "min_recall": min((v["recall"] for v in kinds.values()), default=None),
        "right_kind": sum(c["right_kind"] for c in by_kind.values()) / total if total else None,
        "n_hard_negative": neg["n"],
        "false_alarm": neg["emergency"] / neg["n"] if neg["n"] else None,
        "flagged_negative": neg["recognised"] / neg["n"] if neg["n"] else None,
        # Hard negatives filed as a ticket of any kind (some are real requests without danger:
        # 「电梯坏了 里面没人 物业赶紧修一下」; the chatter among them should not be).
        "filed_negative": neg["filed"] / neg["n"] if neg["n"] else None,
        "errors": [
            {"text": ex.text, "kind": ex.kind, "group": ex.group, "pred_kind": r.emergency_kind,
             "pred_urgency": r.urgency.value, "possible_danger": r.possible_danger}
            for ex, r in labelled
            if (ex.kind == "none") == (r.emergency_kind is not None) or (ex.kind != "none" and r.emergency_kind != ex.kind)
        ],
    }


def evaluate(examples: list[Example], classifier: _Classifier, paired_traditional: bool = True) -> dict[str, Any]:
    codes = [c.value for c in Category]
    results = [(ex, classifier.classify(ex.text)) for ex in examples]
    kinds = evaluate_kinds(results)
    pairs = []  # (gold_cat, pred_cat, gold_urg, pred_urg, traditional, example, result)
    trad_check = getattr(getattr(classifier, "normalize", None), "is_traditional", None)
    for ex, r in results:
        if not ex.category:  # labelled with an emergency kind only
            continue
        is_trad = bool(trad_check(ex.text)) if trad_check else False
        pairs.append((ex.category, r.category.value, ex.urgency, r.urgency.value, is_trad, ex, r))

    conf = Counter((g, p) for g, p, *_ in pairs)
    f1s = {}
    for c in codes:
        tp = conf[(c, c)]
        fp = sum(v for (g, p), v in conf.items() if p == c and g != c)
        fn = sum(v for (g, p), v in conf.items() if g == c and p != c)
        if tp + fp + fn == 0:
            continue
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s[c] = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    n = len(pairs)
    correct = sum(1 for g, p, *_ in pairs if g == p)
    chat = [x for x in pairs if x[0] == "chatter"]
    req = [x for x in pairs if x[0] != "chatter"]
    emer = [x for x in pairs if x[2] == "emergency"]
    non_emer = [x for x in pairs if x[2] != "emergency"]
    trad = [x for x in pairs if x[4]]
    simp = [x for x in pairs if not x[4]]

    def rate(items: list[Any], pred: Callable[[Any], bool]) -> float | None:
        return sum(1 for x in items if pred(x)) / len(items) if items else None

    paired = None
    if paired_traditional and simp:
        import opencc

        s2t = opencc.OpenCC("s2t")
        same = [x for x in simp if x[5].text]
        ok_s = sum(1 for x in same if x[0] == x[1])
        ok_t = sum(1 for x in same if classifier.classify(s2t.convert(x[5].text)).category.value == x[0])
        paired = {"n": len(same), "simplified": ok_s / len(same) if same else None,
                  "traditional": ok_t / len(same) if same else None}

    return {
        "n": n,
        "emergency_kinds": kinds,
        "paired_traditional": paired,
        "macro_f1": sum(f1s.values()) / len(f1s) if f1s else 0.0,
        "macro_f1_requests": (
            sum(v for k, v in f1s.items() if k != "chatter") / max(1, sum(1 for k in f1s if k != "chatter"))
        ),
        "f1": f1s,
        "accuracy": correct / n if n else 0.0,
        "false_ticket_rate": rate(chat, lambda x: x[1] != "chatter"),
        "missed_request_rate": rate(req, lambda x: x[1] == "chatter"),
        "emergency_recall": rate(emer, lambda x: x[3] == "emergency"),
        "false_alarm_rate": rate(non_emer, lambda x: x[3] == "emergency"),
        "urgency_accuracy": rate(pairs, lambda x: x[2] == x[3]),
        "needs_confirmation_rate": rate(pairs, lambda x: x[6].needs_confirmation),
        "traditional": {"n": len(trad), "accuracy": rate(trad, lambda x: x[0] == x[1])},
        "simplified": {"n": len(simp), "accuracy": rate(simp, lambda x: x[0] == x[1])},
        "counts": {"chatter": len(chat), "requests": len(req), "emergency": len(emer)},
        "confusion": {f"{g}->{p}": v for (g, p), v in sorted(conf.items())},
        "errors": [
            {"text": x[5].text, "gold": x[0], "pred": x[1], "gold_urgency": x[2], "pred_urgency": x[3],
             "confidence": round(x[6].confidence, 3)}
            for x in pairs
            if x[0] != x[1] or x[2] != x[3]
        ],
    }


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def format_kinds(k: dict[str, Any], show_errors: int = 0) -> list[str]:
    lines = [
        f"emergency kinds     {k['n_positive']} kind lines, {k['n_hard_negative']} hard negatives",
        f"recognised          {_pct(k['recall'])} (min over kinds {_pct(k['min_recall'])}; emergency or possible danger), "
        f"right kind {_pct(k['right_kind'])}",
        (f"false alarms        {_pct(k['false_alarm'])} of hard negatives called an emergency; "
         f"{_pct(k['flagged_negative'])} flagged at all (emergency or possible danger); "
         f"{_pct(k.get('filed_negative'))} filed as a ticket"),
        "recall by kind (recognised / right kind / emergency tier):",
    ]
    for kind, v in k["kinds"].items():
        lines.append(f"  {kind:14} n={v['n']:<4} {_pct(v['recall']):>6}  {_pct(v['right_kind']):>6}  {_pct(v['emergency_tier']):>6}")
    if show_errors:
        lines += ["", f"emergency-kind errors (first {show_errors}):"]
        for e in k["errors"][:show_errors]:
            tier = "possible" if e["possible_danger"] else e["pred_urgency"]
            lines.append(f"  [{e['kind']} -> {e['pred_kind']}/{tier}] ({e['group']}) {e['text']}")
    return lines


def format_report(m: dict[str, Any], show_errors: int = 0) -> str:
    codes = [c.value for c in Category]
    if m.get("emergency_kinds") and not m["n"]:  # an emergency-kind file only
        return "\n".join(format_kinds(m["emergency_kinds"], show_errors))
    lines = [
        f"messages            {m['n']}  (requests {m['counts']['requests']}, chatter {m['counts']['chatter']}, emergency {m['counts']['emergency']})",
        f"macro-F1 (all codes) {m['macro_f1']:.3f}   (request codes only {m['macro_f1_requests']:.3f})",
        f"accuracy            {_pct(m['accuracy'])}",
        f"false-ticket rate   {_pct(m['false_ticket_rate'])}   (chatter classified as a request)",
        f"missed-request rate {_pct(m['missed_request_rate'])}   (request classified as chatter)",
        f"emergency recall    {_pct(m['emergency_recall'])}",
        f"false-alarm rate    {_pct(m['false_alarm_rate'])}   (non-emergency flagged emergency)",
        f"urgency accuracy    {_pct(m['urgency_accuracy'])}",
        f"needs_confirmation  {_pct(m['needs_confirmation_rate'])}",
        f"Simplified accuracy {_pct(m['simplified']['accuracy'])} (n={m['simplified']['n']})",
        f"Traditional accuracy {_pct(m['traditional']['accuracy'])} (n={m['traditional']['n']}, written in Traditional)",
    ]
    if m.get("paired_traditional"):
        p = m["paired_traditional"]
        lines.append(
            f"same messages, s2t  Simplified {_pct(p['simplified'])} vs Traditional {_pct(p['traditional'])} "
            f"(n={p['n']}, every Simplified line converted with OpenCC s2t)"
        )
    lines += [
        "",
        "per-code F1: " + "  ".join(f"{k}={v:.2f}" for k, v in m["f1"].items()),
        "",
        "confusion matrix (rows gold, columns predicted):",
    ]
    present = [c for c in codes if any(k.startswith(c + "->") or k.endswith("->" + c) for k in m["confusion"])]
    abbr = {c: c[:6] for c in present}
    lines.append(" " * 18 + " ".join(f"{abbr[c]:>6}" for c in present))
    for g in present:
        row = [m["confusion"].get(f"{g}->{p}", 0) for p in present]
        lines.append(f"{g:>17} " + " ".join(f"{v:>6}" if v else f"{'.':>6}" for v in row))
    if m.get("emergency_kinds"):
        lines += [""] + format_kinds(m["emergency_kinds"], show_errors)
    if show_errors:
        lines += ["", f"errors (first {show_errors}):"]
        for e in m["errors"][:show_errors]:
            lines.append(f"  [{e['gold']}/{e['gold_urgency']} -> {e['pred']}/{e['pred_urgency']} {e['confidence']}] {e['text']}")
    return "\n".join(lines)
