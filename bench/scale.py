"""Scale: the SLA sweep's queries and the console's ticket list (filtered, first page) with
10,000 and 1,000,000 tickets, on SQLite and PostgreSQL. p50/p95 over repeated runs.

    python bench/scale.py [--sizes 10000 1000000] [--runs 40] [--no-postgres] [--sweep]

Tickets are bulk-inserted with one SQL statement (DB files in /tmp): 98 % closed or
otherwise finished, 2 % open, spread over the example grids, categories and two years.
Measured:
- sweep selection: the two queries ``bots.scheduler.Sweeper.run_once`` starts with (open
  tickets whose next visit is due; resolved tickets whose survey timed out), and for
  comparison the old selection of every open ticket;
- console lists through ``core.search.search`` (the console, REST API and Open311 query):
  open tickets of one grid newest first; one category, all states; overdue soonest-due
  first; open / one open state / two open states / closed by deadline.
``--sweep`` also times ``Sweeper.run_once``: the first run of a process (every open ticket),
then a second run a minute later (only tickets with something due), and explains the two
overdue-list queries.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench.common import machine, percentile, postgres_database  # noqa: E402
from bots.runtime import Runtime  # noqa: E402
from config.settings import Settings  # noqa: E402
from core import search  # noqa: E402
from core.models import Ticket, open_states_clause, utcnow  # noqa: E402
from core.taxonomy import Category  # noqa: E402
from core.ticket_states import TicketState  # noqa: E402

GRIDS = ["xingfu-1", "xingfu-2", "anle-1"]
CATEGORIES = [c.value for c in Category if c.is_request]
DONE = ["closed", "closed", "closed", "rejected", "duplicate", "withdrawn", "referred"]
OPEN = ["pending", "confirmed", "assigned", "in_progress"]


def fill(engine: sa.Engine, n: int) -> float:
    """Insert n tickets with one INSERT … SELECT over a generated series. Returns seconds."""
    start = time.perf_counter()
    pg = engine.dialect.name == "postgresql"
    series = "generate_series(1::bigint, :n) AS s(i)" if pg else \
        "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) SELECT i FROM s) AS s"
    now_expr = "now() AT TIME ZONE 'UTC'" if pg else "datetime('now')"
    minus = (lambda col, unit: f"({now_expr} - ({col}) * interval '1 {unit}')") if pg else \
        (lambda col, unit: f"datetime('now', printf('%+d {unit}s', -({col})))")
    plus = (lambda col, unit: f"({now_expr} + ({col}) * interval '1 {unit}')") if pg else \
        (lambda col, unit: f"datetime('now', printf('%+d {unit}s', {col}))")

    def pick(values: list[str], expr: str) -> str:
        return "CASE " + " ".join(f"WHEN ({expr}) = {k} THEN '{v}'" for k, v in enumerate(values)) + " END"

    is_open = "(i % 50 = 0)"  # 2 % open
    state = f"CASE WHEN {is_open} THEN {pick(OPEN, f'(i / 50) % {len(OPEN)}')} ELSE {pick(DONE, f'i % {len(DONE)}')} END"
    age_hours = "(i * 7919 % 17520)"  # spread over two years
    sql = f"""
        INSERT INTO tickets (text, category, urgency, state, confidence, grid_id, chat_key, origin_message_id,
                             created_by, created_at, updated_at, confirm_due_at, resolve_due_at, resolved_at, closed_at)
        SELECT '楼道灯坏了 ' || i, {pick(CATEGORIES, f'i % {len(CATEGORIES)}')}, 'normal', {state}, 0.9,
               {pick(GRIDS, 'i % 3')}, 'playground:demo', 'bench-' || i, 'playground:p' || (i % 500),
               {minus(age_hours, 'hour')}, {minus(age_hours, 'hour')},
               {minus(f'{age_hours} - 2', 'hour')},
               CASE WHEN {is_open} THEN {plus('(i % 96) - 24', 'hour')} ELSE {minus(f'{age_hours} - 72', 'hour')} END,
               CASE WHEN {is_open} THEN NULL ELSE {minus(f'{age_hours} - 24', 'hour')} END,
               CASE WHEN {is_open} THEN NULL ELSE {minus(f'{age_hours} - 48', 'hour')} END
        FROM {series}
    """
    with engine.begin() as conn:
        if not pg:
            conn.exec_driver_sql("PRAGMA recursive_triggers = OFF")
        conn.execute(sa.text(sql), {"n": n})
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - start


def timed(fn, runs: int) -> tuple[float, float]:
    fn()  # warm the cache
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return percentile(samples, 50), percentile(samples, 95)


def measure(engine: sa.Engine, runs: int) -> dict[str, tuple[float, float, int]]:
    open_states = [s for s in TicketState if s.is_open]
    now = utcnow()
    out: dict[str, tuple[float, float, int]] = {}

    def q(name, fn):
        result = {}

        def run():
            with Session(engine) as s:
                result["n"] = fn(s)

        p50, p95 = timed(run, runs)
        out[name] = (p50, p95, result["n"])

    q("sweep (before): every open ticket", lambda s: len(list(s.exec(select(Ticket.id).where(Ticket.state.in_(open_states)).order_by(Ticket.id)))))
    q("sweep: open tickets due a visit", lambda s: len(list(s.exec(select(Ticket.id).where(
        open_states_clause(), Ticket.next_sweep_at <= now).order_by(Ticket.id)))))
    q("sweep: surveys timed out", lambda s: len(list(s.exec(select(Ticket.id).where(
        Ticket.state == TicketState.RESOLVED, Ticket.resolved_at <= now - timedelta(hours=72)).order_by(Ticket.id)))))
    q("list: open in grid xingfu-1, newest", lambda s: len(search.search(
        s, search.TicketFilter(status="open", grid_id="xingfu-1"), None).items))
    q("list: category utilities, newest", lambda s: len(search.search(
        s, search.TicketFilter(categories=(Category.UTILITIES,)), None).items))
    q("list: overdue, soonest due", lambda s: len(search.search(
        s, search.TicketFilter(overdue=True, sort="due"), None).items))
    q("list: overdue in grid xingfu-1, soonest due", lambda s: len(search.search(
        s, search.TicketFilter(overdue=True, grid_id="xingfu-1", sort="due"), None).items))
    q("list: overdue, newest", lambda s: len(search.search(s, search.TicketFilter(overdue=True), None).items))
    q("list: overdue, recently updated", lambda s: len(search.search(
        s, search.TicketFilter(overdue=True, sort="updated"), None).items))
    q("list: open, soonest due", lambda s: len(search.search(
        s, search.TicketFilter(status="open", sort="due"), None).items))
    q("list: state pending, soonest due", lambda s: len(search.search(
        s, search.TicketFilter(states=(TicketState.PENDING,), sort="due"), None).items))
    q("list: pending+assigned, soonest due", lambda s: len(search.search(
        s, search.TicketFilter(states=(TicketState.PENDING, TicketState.ASSIGNED), sort="due"), None).items))
    q("list: closed, soonest due", lambda s: len(search.search(
        s, search.TicketFilter(status="closed", sort="due"), None).items))
    q("list: overdue, page 5 by cursor", lambda s: _page(s, search.TicketFilter(overdue=True, sort="due"), 5))
    q("list: overdue updated, page 5", lambda s: _page(s, search.TicketFilter(overdue=True, sort="updated"), 5))
    return out


def settle(runtime: Runtime) -> float:
    """Store every open ticket's next sweep time in bulk, as a sweep that has sent everything
    due now leaves it (visiting 20,000 tickets one transaction each would take minutes here)."""
    from core.deadlines import next_check

    t0 = time.perf_counter()
    sweeper, policy, now = runtime.sweeper, runtime.sweeper.actions.sla, utcnow()
    with Session(runtime.engine) as s:
        rows = [{"i": t.id, "at": next_check(sweeper.clock_of(s, t), now, remind_at=policy.remind_at,
                                             warn_at=policy.warn_at, escalate_every=policy.escalate_every)}
                for t in s.exec(select(Ticket).where(open_states_clause(), Ticket.next_sweep_at <= now))]
    with runtime.engine.begin() as conn:
        if rows:
            conn.execute(sa.text("UPDATE tickets SET next_sweep_at = :at WHERE id = :i").bindparams(
                sa.bindparam("at", type_=Ticket.__table__.c.next_sweep_at.type)), rows)
    return time.perf_counter() - t0


def _page(session, flt, n: int) -> int:
    cursor = None
    for _ in range(n):
        page = search.search(session, flt, None, cursor=cursor)
        cursor = page.next_cursor
    return len(page.items)


def explain(engine: sa.Engine) -> None:
    """The plans of two lists by deadline and of the sweep's selection, as the databases run them."""
    now = utcnow()
    with Session(engine) as s:
        def by_due(flt):
            return (select(Ticket).where(*search.where_clauses(s, flt, None, now), Ticket.resolve_due_at.is_not(None))
                    .order_by(Ticket.resolve_due_at, Ticket.id).limit(51))

        queries = {
            "overdue list": by_due(search.TicketFilter(overdue=True, sort="due")),
            "pending+assigned list": by_due(search.TicketFilter(states=(TicketState.PENDING, TicketState.ASSIGNED), sort="due")),
            "sweep selection": select(Ticket.id).where(open_states_clause(), Ticket.next_sweep_at <= now).order_by(Ticket.id),
        }
        for label, query in queries.items():
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
            rows = s.connection().exec_driver_sql(prefix + sql).all()
            print(f"  plan, {label}:")
            for row in rows:
                print("    " + str(row[-1]))


def run(name: str, database_url: str, sizes: list[int], runs: int, sweep: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="linli-scale-", dir="/tmp") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=database_url or None, run_outbox=False,
                            run_scheduler=False, _env_file=None)
        runtime = Runtime(settings)
        runtime.prepare()
        engine = runtime.engine
        have = 0
        for size in sizes:
            seconds = fill(engine, size - have)
            have = size
            print(f"\n{name}, {size:,} tickets (bulk insert {seconds:.1f} s)")
            print(f"  next sweep times of the open tickets stored in {settle(runtime):.1f} s (as a first sweep would)")
            for label, (p50, p95, n) in measure(engine, runs).items():
                print(f"  {label:38s} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms   ({n} rows)")
            if sweep:
                explain(engine)
                at = utcnow()
                runtime.sweeper.mark_settled()  # settled above, as after the first run
                restarted = Runtime(settings).sweeper  # a new process, same policy and grids
                for label, sweeper, when in (("a run now", runtime.sweeper, at),
                                             ("the next run, a minute later", runtime.sweeper, at + timedelta(minutes=1)),
                                             ("a restarted process's first run", restarted, at + timedelta(minutes=2))):
                    t0 = time.perf_counter()
                    report = sweeper.run_once(when)
                    print(f"  Sweeper.run_once, {label}: {(time.perf_counter() - t0) * 1000:.0f} ms ({report.done})")
                restarted.engine.dispose()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if not args.no_sqlite:
        run("SQLite", "", args.sizes, args.runs, args.sweep)
    if not args.no_postgres:
        with postgres_database() as url:
            run("PostgreSQL", url, args.sizes, args.runs, args.sweep)


if __name__ == "__main__":
    main()
