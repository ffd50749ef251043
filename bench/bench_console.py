"""How fast the console's ticket list, count and statistics are at a million tickets.

    python bench/bench_console.py                       # SQLite in a temp dir, 1,000,000 tickets
    python bench/bench_console.py --tickets 200000
    python bench/bench_console.py --database-url postgresql://postgres@127.0.0.1:5432/linli_bench

Fills the tickets table with bulk inserts (synthetic rows over a year, spread over the grids of
config/grids.example.yaml), then times each query of core/search.py and core/stats.py as a
grid worker and as the district would run it, median of several runs. Prints one line per query.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from config.settings import CONFIG_DIR  # noqa: E402
from core import accounts, db, search, stats  # noqa: E402
from core.grids import Level, load_into_db, read_grids_file  # noqa: E402
from core.models import (
    ConsoleAccount,  # noqa: E402
    Ticket,  # noqa: E402
)
from core.search import TicketFilter  # noqa: E402
from core.taxonomy import REQUEST_CATEGORIES  # noqa: E402

GRIDS = ["xingfu-1", "xingfu-2", "anle-1"]
STATES = ["pending"] * 5 + ["confirmed"] * 5 + ["in_progress"] * 5 + ["resolved"] * 20 + ["closed"] * 60 + ["rejected"] * 5
WORDS = ["楼上漏水", "路灯不亮", "垃圾没人清运", "电梯坏了", "噪音扰民", "井盖丢了", "树枝挡窗", "停水", "楼道堆物", "广场舞音响"]


def fill(engine, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    table = Ticket.__table__
    batch = []
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for i in range(n):
            created = start + timedelta(seconds=rnd.randrange(365 * 86400))
            state = rnd.choice(STATES)
            confirmed = created + timedelta(minutes=rnd.randrange(10, 300)) if state != "pending" else None
            resolved = created + timedelta(hours=rnd.randrange(2, 120)) if state in ("resolved", "closed") else None
            batch.append({
                "text": f"{rnd.choice(WORDS)}，第{i}号", "category": rnd.choice(REQUEST_CATEGORIES).value, "urgency": "normal",
                "state": state, "confidence": 0.9, "grid_id": rnd.choice(GRIDS), "chat_key": "playground:demo",
                "origin_message_id": f"b{i}", "created_by": "playground:zhang", "created_at": created, "updated_at": resolved or created,
                "confirm_due_at": created + timedelta(hours=2), "resolve_due_at": created + timedelta(hours=72),
                "confirmed_at": confirmed, "resolved_at": resolved, "closed_at": resolved if state == "closed" else None,
            })
            if len(batch) == 20_000:
                conn.execute(table.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(table.insert(), batch)
    print(f"filled {n:,} tickets in {time.perf_counter() - t0:.1f} s", flush=True)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE tickets"))
        else:
            conn.execute(sa.text("ANALYZE"))


def timed(label: str, fn, runs: int = 5) -> None:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    print(f"{label:<58} {statistics.median(times) * 1000:9.1f} ms   ({result})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="linli-bench-console-")
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    with db.session_scope(engine) as s:
        load_into_db(s, read_grids_file(CONFIG_DIR / "grids.example.yaml"))
        for name, person in (("district", "playground:admin"), ("grid", "playground:wangfang")):
            if not s.exec(select(ConsoleAccount).where(ConsoleAccount.username == name)).first():
                accounts.create_account(s, name, person, "bench-password")
    fill(engine, args.tickets)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with Session(engine) as s:
        district = accounts.scope_for(s, s.exec(select(ConsoleAccount).where(ConsoleAccount.username == "district")).one())
        grid = accounts.scope_for(s, s.exec(select(ConsoleAccount).where(ConsoleAccount.username == "grid")).one())

        def pages(flt, scope, n):
            cursor = None
            for _ in range(n):
                page = search.search(s, flt, scope, cursor=cursor, limit=50, now=now)
                cursor = page.next_cursor
            return f"page {n} ends at #{page.items[-1].id}" if page.items else "empty"

        print(f"{engine.dialect.name}, {args.tickets:,} tickets, 50 a page")
        timed("list, district, newest first, page 1", lambda: len(search.search(s, TicketFilter(), district, now=now).items))
        timed("list, district, pages 1 → 200 by cursor (all 200)", lambda: pages(TicketFilter(), district, 200), runs=1)
        timed("list, grid worker, newest first, page 1", lambda: len(search.search(s, TicketFilter(), grid, now=now).items))
        pending = TicketFilter(states=(search.TicketState.PENDING,))
        timed("list, district, state=pending", lambda: len(search.search(s, pending, district, now=now).items))
        timed("list, district, overdue", lambda: len(search.search(s, TicketFilter(overdue=True), district, now=now).items))
        timed("list, district, sort by deadline", lambda: len(search.search(s, TicketFilter(sort="due"), district, now=now).items))
        timed("list, district, one day (date range)", lambda: len(search.search(
            s, TicketFilter(created_from=datetime(2025, 6, 1, tzinfo=UTC), created_to=datetime(2025, 6, 2, tzinfo=UTC)), district, now=now).items))
        timed("search '井盖' (common word)", lambda: len(search.search(s, TicketFilter(text="井盖"), district, now=now).items))
        timed("search '第999999号' (rare)", lambda: len(search.search(s, TicketFilter(text="第999999号"), district, now=now).items))
        timed("count (capped at 10,000), district", lambda: search.count(s, TicketFilter(), district, now=now))
        month = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
        timed("stats, one month by category, district", lambda: stats.report(
            s, district, dimension="category", start=month[0], end=month[1], now=now).total.received, runs=3)
        timed("stats, one year by community, district", lambda: stats.report(
            s, district, dimension="grid", grid_level=Level.COMMUNITY, now=now).total.received, runs=1)
        timed("stats, one year by month, grid worker", lambda: stats.report(s, grid, dimension="month", now=now).total.received, runs=1)
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
