"""Full-scale fault test: 10,000 messages through two ``linli serve`` instances on one PostgreSQL
while one instance is SIGKILLed (twice) and restarted; then every accepted message must have
exactly one effect (one inbox row, one ticket, one 'created' reply, delivered).

    python bench/kill_test.py [--messages 10000] [--concurrency 32] [--kills 2] [--channel playground|telegram]

``--channel telegram`` sends Bot API Updates to ``POST /webhooks/telegram`` (Bot API stubbed
on loopback); all go to the one bound group, whose replies Telegram allows 20 a minute, so
there the check is that each reply is queued exactly once rather than that it was sent.

Loopback only; bounded (the load gives up after 15 minutes, settling after 5). Exit status 0
when every check passes. The test suite runs the same scenario with 500 messages
(tests/reliability/test_instances.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cluster  # noqa: E402
from bench.common import machine, percentile, postgres_database, serve_in_thread, stub_app  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--defer", action="store_true", help="LINLI_INBOX_DEFER=true on both instances")
    parser.add_argument("--channel", choices=["playground", "telegram"], default="playground")
    args = parser.parse_args()
    print(f"machine: {machine()}; channel {args.channel}")
    env = {"LINLI_INBOX_DEFER": "true" if args.defer else "false"}
    delivered = args.channel == "playground"
    with ExitStack() as stack:
        if args.channel == "telegram":
            env |= cluster.telegram_env(stack.enter_context(serve_in_thread(stub_app())))
        return run(args, env, delivered)


def run(args, env: dict, delivered: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="linli-kill-", dir="/tmp") as tmp, postgres_database("linli_kill") as url:
        a = cluster.Instance(url, Path(tmp), env=env).start()
        b = cluster.Instance(url, Path(tmp), env=env).start()
        try:
            a.wait_ready(120)
            b.wait_ready(120)
            marks = [args.messages * (k + 1) // (args.kills + 1) for k in range(args.kills)]
            kills: list[tuple[int, float]] = []

            def maybe_kill(accepted: int) -> None:
                if marks and accepted >= marks[0]:
                    marks.pop(0)
                    t0 = time.monotonic()
                    a.kill()
                    a.start()
                    kills.append((accepted, t0))

            report = asyncio.run(cluster.send_all([a, b], args.messages, concurrency=args.concurrency,
                                                  on_accepted=maybe_kill, deadline_seconds=900, channel=args.channel))
            a.wait_ready(120)
            t0 = time.monotonic()
            cluster.wait_until_settled(url, args.messages, timeout=300, delivered=delivered)
            settle = time.monotonic() - t0
            effects = cluster.check_effects(url, report.accepted, channel=args.channel, delivered=delivered)
            holders = cluster.sweep_lock_holders(url)
        finally:
            a.stop()
            b.stop()
    print(f"sent {args.messages} messages with {args.concurrency} concurrent senders in {report.seconds:.1f} s "
          f"({args.messages / report.seconds:.0f} accepted/s); SIGKILL + restart of one instance after "
          f"{', '.join(str(k) for k, _ in kills)} accepted messages")
    print(f"request outcomes: {dict(report.attempts)}; accepted latency p50 {percentile(report.latencies, 50) * 1000:.0f} ms, "
          f"p99 {percentile(report.latencies, 99) * 1000:.0f} ms")
    print(f"settled {settle:.1f} s after the last acknowledgement; inbox {dict(effects.inbox)}; "
          f"tickets {effects.tickets} (tickets per message {dict(effects.tickets_per_message)}); "
          f"'created' replies per ticket {dict(effects.replies_per_ticket)}; outbox {dict(effects.outbox)}; "
          f"sweep lock holders {holders}")
    ok = not effects.problems and len(report.accepted) == args.messages and holders == 1
    print("PASS: every accepted message had exactly one effect" if ok else f"FAIL: {effects.problems[:20]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
