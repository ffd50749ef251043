"""Full-scale delivery through a platform failing 30 % of calls (5xx, 429 with retry_after, hangs
past the client's time-out), two instances sending from one database, an injected clock:
every reply delivered exactly once and the rate limits held.

    python bench/delivery_faults.py [--messages 2000] [--rooms 2] [--database sqlite|postgres]

The messages are ingested through the real pipeline first (a stub classifier files each as
a request, so each has one reply); then both runtimes' outbox workers run round after round,
one fake second apart, until nothing is pending. Loopback only, bounded in rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.base import RateLimit  # noqa: E402
from bench.common import machine, postgres_database, serve_in_thread  # noqa: E402
from bench.faults import FakeClock, FakePlatform, HttpAdapter, deliver_everything  # noqa: E402
from bots.runtime import Runtime  # noqa: E402
from config.settings import Settings  # noqa: E402
from core.classify import Classification  # noqa: E402
from core.message import Message  # noqa: E402
from core.taxonomy import Category, Urgency  # noqa: E402


def request(text: str) -> Classification:
    return Classification(True, Category.FACILITIES, Urgency.NORMAL, 0.9)


async def scenario(database_url: str, data_dir: Path, n: int, limits: RateLimit) -> None:
    clock = FakeClock()
    fake = FakePlatform(clock, failure_rate=0.3)
    settings = Settings(data_dir=data_dir, database_url=database_url or None, run_outbox=False, run_scheduler=False,
                        _env_file=None)
    runtimes = [Runtime(settings, clock=clock), Runtime(settings, clock=clock)]
    runtimes[0].prepare()
    for rt in runtimes:
        rt.bot.classify = request
        rt.bot.duplicate_window = timedelta(0)
    t0 = time.perf_counter()
    for i in range(n):
        runtimes[0].ingest_sync(Message(platform="playground", chat_id=("demo", "anle")[i % 2], message_id=f"d{i}",
                                        sender_id=f"p{i % 40}", sender_name="居民", text=f"第{i}件事：楼道灯坏了",
                                        sent_at=datetime.now(UTC)))
    ingest = time.perf_counter() - t0
    with serve_in_thread(fake.app()) as url:
        for rt in runtimes:
            rt.register(HttpAdapter("playground", url, limits))
        t0 = time.perf_counter()
        report = await deliver_everything(runtimes, clock, fake, limits, max_rounds=1_000_000)
        wall = time.perf_counter() - t0
        for rt in runtimes:
            for adapter in rt.adapters.values():
                await adapter.stop()
            rt.engine.dispose()
    print(f"{n} messages ingested in {ingest:.1f} s; {report.replies} replies, {report.sent} sent in {report.rounds} rounds "
          f"({report.fake_seconds / 60:.1f} fake minutes, {wall:.1f} s wall)")
    print(f"platform answers: {dict(report.calls)}; outbox {dict(report.statuses)}")
    print(f"most in one chat within a minute: {report.max_per_chat_minute} (limit {limits.per_chat_per_minute}); "
          f"most within a second: {report.max_per_second} (limit {limits.global_per_second})")
    print("PASS: every reply delivered exactly once, limits held" if not report.problems else f"FAIL: {report.problems}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--per-chat-per-minute", type=int, default=20)
    parser.add_argument("--global-per-second", type=float, default=30)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    limits = RateLimit(args.per_chat_per_minute, args.global_per_second)
    print(f"machine: {machine()}; database {args.database}; limits {limits}")
    with tempfile.TemporaryDirectory(prefix="linli-faults-", dir="/tmp") as tmp:
        if args.database == "postgres":
            with postgres_database("linli_faults") as url:
                asyncio.run(scenario(url, Path(tmp), args.messages, limits))
        else:
            asyncio.run(scenario("", Path(tmp), args.messages, limits))


if __name__ == "__main__":
    main()
