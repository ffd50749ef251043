"""In-process pipeline throughput: messages → classify → ticket → outbox, on SQLite and PostgreSQL,
as a ratio to classification alone.

    python bench/pipeline.py [--messages 2000] [--no-postgres]

Messages are the resident texts of bench/common.py (requests, commands, chatter) from 50
people in the two playground rooms; the bot runs with its real classifier, duplicate
detection and SLA rules. Each message is one ``Runtime.ingest_sync`` call (store, process,
queue replies), one after another: this is the per-message cost, not a concurrency test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import TEXTS, machine, postgres_database  # noqa: E402
from bots.runtime import Runtime  # noqa: E402
from config.settings import Settings  # noqa: E402
from core.classify import classify  # noqa: E402
from core.message import Message  # noqa: E402


def messages(n: int, run: str) -> list[Message]:
    return [
        Message(platform="playground", chat_id=("demo", "anle")[i % 2], message_id=f"{run}-{i}",
                sender_id=f"p{i % 50}", sender_name=f"居民{i % 50}", text=f"{TEXTS[i % len(TEXTS)]}（{i}）",
                sent_at=datetime.now(UTC))
        for i in range(n)
    ]


def classify_rate(msgs: list[Message]) -> float:
    start = time.perf_counter()
    for m in msgs:
        classify(m.text)
    return len(msgs) / (time.perf_counter() - start)


def pipeline_rate(database_url: str, msgs: list[Message]) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="linli-bench-", dir="/tmp") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=database_url or None, run_outbox=False,
                            run_scheduler=False, _env_file=None)
        runtime = Runtime(settings)
        runtime.prepare()
        runtime.ingest_sync(messages(1, "warm")[0])
        start = time.perf_counter()
        replies = sum(len(runtime.ingest_sync(m).outbox) for m in msgs)
        rate = len(msgs) / (time.perf_counter() - start)
        runtime.engine.dispose()
        return rate, replies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    msgs = messages(args.messages, "bench")
    classify(TEXTS[0])  # load the model once
    c_rate = classify_rate(msgs)
    print(f"classify alone: {c_rate:,.0f} messages/s")
    targets = [("SQLite", "")]
    if not args.no_postgres:
        targets.append(("PostgreSQL", None))
    for name, url in targets:
        if url is None:
            with postgres_database() as pg_url:
                rate, replies = pipeline_rate(pg_url, msgs)
        else:
            rate, replies = pipeline_rate(url, msgs)
        print(f"pipeline on {name}: {rate:,.0f} messages/s ({replies} replies queued) = {rate / c_rate:.3f} × classify alone")


if __name__ == "__main__":
    main()
