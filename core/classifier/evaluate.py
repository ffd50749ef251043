"""Metrics for ``linli eval``: macro-F1, accuracy, gate error rates, emergency recall and
false alarms, Traditional vs Simplified accuracy, confusion matrix."""

from __future__ import annotations

from collections import Counter

from core.classifier.corpus import Example
from core.taxonomy import Category


def evaluate(examples: list[Example], classifier, paired_traditional: bool = True) -> dict:
    codes = [c.value for c in Category]
    pairs = []  # (gold_cat, pred_cat, gold_urg, pred_urg, traditional, example, result)
    trad_check = getattr(getattr(classifier, "normalize", None), "is_traditional", None)
    for ex in examples:
        r = classifier.classify(ex.text)
        trad = bool(trad_check(ex.text)) if trad_check else False
        pairs.append((ex.category, r.category.value, ex.urgency, r.urgency.value, trad, ex, r))

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

    def rate(items, pred) -> float | None:
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


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def format_report(m: dict, show_errors: int = 0) -> str:
    codes = [c.value for c in Category]
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
    if show_errors:
        lines += ["", f"errors (first {show_errors}):"]
        for e in m["errors"][:show_errors]:
            lines.append(f"  [{e['gold']}/{e['gold_urgency']} -> {e['pred']}/{e['pred_urgency']} {e['confidence']}] {e['text']}")
    return "\n".join(lines)
