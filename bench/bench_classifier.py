"""Classifier benchmark (issue 3). A script, not a test: prints numbers.

    python bench/bench_classifier.py [--n 20000] [--rounds 3]

- throughput: classification of N generated messages vs plain ``jieba.lcut`` over the same
  messages, in the same process, interleaved in chunks of 500 messages (so that a burst of
  load from other processes hits both sides alike), best round of each (target ≥ 0.7×);
  the load average is printed before and after, since a busy 2-core machine moves both;
- latency: each message timed alone (perf_counter_ns), p50 / p99 / max (target p99 ≤ 2 ms);
- cold start: a fresh interpreter importing core.classifier and loading the model
  (``default_classifier()``), median of 3 (target ≤ 1.5 s); jieba's dictionary cache is warmed
  first, as it is on any machine that has run linli once;
- peak memory: max RSS of that fresh interpreter after loading and classifying 2,000 messages,
  next to a fresh interpreter that only initialises jieba.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def messages(n: int, seed: int = 2024) -> list[str]:
    """N messages: generated requests and chatter (a seed never used for training), plus
    hand-written held-out lines, with one in ten joined into a long message."""
    from core.classifier.corpus import HELDOUT_FILE, load_examples
    from core.classifier.generate import generate_chatter, generate_requests

    rng = random.Random(seed)
    pool = [e.text for e in generate_requests(n // 2, seed)] + [e.text for e in generate_chatter(n // 2, seed + 1)]
    pool += [e.text for e in load_examples(HELDOUT_FILE)]
    rng.shuffle(pool)
    out = []
    for i in range(n):
        if i % 10 == 9:
            out.append("，".join(rng.choice(pool) for _ in range(rng.randint(3, 8))))
        else:
            out.append(pool[i % len(pool)])
    return out


COLD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from core.classifier import default_classifier
clf = default_classifier()
t1 = time.perf_counter()
msgs = json.loads(sys.stdin.read())
for m in msgs:
    clf.classify(m)
print(json.dumps({"cold_start_s": t1 - t0, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
JIEBA_ONLY = r"""
import json, resource, time, logging
t0 = time.perf_counter()
import jieba
jieba.setLogLevel(logging.WARNING)
jieba.initialize()
print(json.dumps({"cold_start_s": time.perf_counter() - t0, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def fresh(code: str, stdin: str = "") -> dict:
    out = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    import jieba

    from core.classifier import default_classifier

    clf = default_classifier()
    msgs = messages(args.n)
    chars = sum(map(len, msgs))
    print(f"messages: {len(msgs)}  (mean {chars / len(msgs):.1f} chars, max {max(map(len, msgs))})")

    lcut = jieba.lcut
    classify = clf.classify
    for m in msgs[:500]:  # warm both paths
        lcut(m)
        classify(m)
    print("load average      {:.2f} {:.2f} {:.2f}  (before)".format(*os.getloadavg()))
    t_jieba, t_clf = [], []
    pc = time.perf_counter
    chunks = [msgs[i : i + 500] for i in range(0, len(msgs), 500)]
    for _ in range(args.rounds):
        tj = tc = 0.0
        for chunk in chunks:
            t = pc()
            for m in chunk:
                lcut(m)
            t1 = pc()
            for m in chunk:
                classify(m)
            tc += pc() - t1
            tj += t1 - t
        t_jieba.append(tj)
        t_clf.append(tc)
    bj, bc = min(t_jieba), min(t_clf)
    print(f"jieba.lcut        {len(msgs) / bj:10.0f} msg/s   (rounds: {', '.join(f'{x:.3f}s' for x in t_jieba)})")
    print(f"classify          {len(msgs) / bc:10.0f} msg/s   (rounds: {', '.join(f'{x:.3f}s' for x in t_clf)})")
    print(f"throughput ratio  {bj / bc:10.2f}  (classify / jieba.lcut; target >= 0.70)")
    print("load average      {:.2f} {:.2f} {:.2f}  (after)".format(*os.getloadavg()))

    ns = time.perf_counter_ns
    lat = []
    for m in msgs:
        t = ns()
        classify(m)
        lat.append(ns() - t)
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] / 1e6  # noqa: E731
    print(f"latency           p50 {q(0.50):.3f} ms   p99 {q(0.99):.3f} ms   max {lat[-1] / 1e6:.3f} ms  (target p99 <= 2 ms)")

    fresh(JIEBA_ONLY)  # make sure jieba's dictionary cache exists
    sample = json.dumps(msgs[:2000], ensure_ascii=False)
    runs = [fresh(COLD, sample) for _ in range(3)]
    base = fresh(JIEBA_ONLY)
    cold = statistics.median(r["cold_start_s"] for r in runs)
    rss = max(r["max_rss_mb"] for r in runs)
    print(f"cold start        {cold:.3f} s  (import + model load, median of 3: "
          f"{', '.join(format(r['cold_start_s'], '.3f') for r in runs)}; target <= 1.5 s)")
    print(f"                  jieba alone: {base['cold_start_s']:.3f} s")
    print(f"peak memory       {rss:.0f} MB max RSS after load + 2,000 messages (jieba alone: {base['max_rss_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
