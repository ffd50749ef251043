"""Webhook over HTTP: ``POST /webhooks/telegram`` of one ``linli serve`` versus a bare FastAPI
endpoint in the same run, both under uvicorn on loopback, at 50 concurrent senders.

    python bench/webhook.py [--seconds 15] [--connections 50] [--database sqlite|postgres] [--inline|--worker-process]

The load generator is ``wrk`` (Debian package ``wrk``) with a Lua script that sends a
distinct Bot API Update per request (new update_id and message_id, a resident text from
bench/common.py, one of 50 senders, the bound group); without wrk an httpx async script
does the same. linli runs with its defaults plus Telegram pointed at a loopback stub of the
Bot API, so the outbox worker delivers the replies during the run. Also reported: peak RSS
of the linli process (VmHWM) and how many updates were stored and processed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.cluster import Instance  # noqa: E402
from bench.common import (  # noqa: E402
    TEXTS,
    TG_GROUP,
    TG_SECRET,
    TG_TOKEN,
    free_port,
    machine,
    peak_rss_mb,
    percentile,
    postgres_database,
    serve_in_thread,
    stub_app,
)
from core.db import make_engine  # noqa: E402

BARE_APP = textwrap.dedent('''
    from fastapi import FastAPI, Request
    app = FastAPI()

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    @app.post("/webhooks/telegram")
    async def webhook(request: Request):
        await request.json()
        return {"ok": True}
''')

WRK_SCRIPT = textwrap.dedent('''
    local texts = TEXTS_LUA
    local n = 0
    local offset = 0
    local secret = "SECRET"
    function init(args)
      offset = tonumber(args[1]) or 0
    end
    function request()
      n = n + 1
      local id = offset + n
      local body = string.format('{"update_id":%d,"message":{"message_id":%d,"date":1764130000,' ..
        '"chat":{"id":GROUP,"type":"supergroup","title":"t"},' ..
        '"from":{"id":%d,"is_bot":false,"first_name":"居民"},"text":"%s（%d）"}}',
        id, id, 300000000 + id % 50, texts[id % #texts + 1], id)
      return wrk.format("POST", "/webhooks/telegram",
        {["Content-Type"] = "application/json", ["X-Telegram-Bot-Api-Secret-Token"] = secret}, body)
    end
''')


def update(i: int) -> dict:
    return {"update_id": i, "message": {
        "message_id": i, "date": 1764130000, "chat": {"id": TG_GROUP, "type": "supergroup", "title": "t"},
        "from": {"id": 300000000 + i % 50, "is_bot": False, "first_name": "居民"},
        "text": f"{TEXTS[i % len(TEXTS)]}（{i}）"}}


def run_wrk(url: str, seconds: int, connections: int, offset: int) -> dict:
    texts = "{" + ",".join(json.dumps(t, ensure_ascii=False) for t in TEXTS) + "}"
    script = WRK_SCRIPT.replace("TEXTS_LUA", texts).replace("SECRET", TG_SECRET).replace("GROUP", str(TG_GROUP))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url, "--", str(offset)],
        capture_output=True, text=True, timeout=seconds + 60,
    ).stdout
    os.unlink(f.name)

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\b", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50%"), "p99": ms("99%"),
            "requests": requests, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(1) if errors else "none", "tool": "wrk"}


def run_httpx(url: str, seconds: int, connections: int, offset: int) -> dict:
    latencies: list[float] = []
    bad = 0

    async def main() -> None:
        nonlocal bad
        counter = iter(range(offset + 1, offset + 10**9))
        end = time.monotonic() + seconds
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            async def sender() -> None:
                nonlocal bad
                while time.monotonic() < end:
                    t0 = time.perf_counter()
                    r = await client.post("/webhooks/telegram", json=update(next(counter)),
                                          headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
                    latencies.append(time.perf_counter() - t0)
                    bad += r.status_code >= 300
            await asyncio.gather(*(sender() for _ in range(connections)))

    asyncio.run(main())
    return {"rps": len(latencies) / seconds, "p50": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000,
            "requests": len(latencies), "non2xx": bad, "errors": "none", "tool": "httpx"}


def wait_ready(url: str, path: str = "/healthz", timeout: float = 60) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if httpx.get(url + path, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready")


def bench(database_url: str, data_dir: Path, seconds: int, connections: int, defer: bool, worker: bool = False,
          accept_only: bool = False) -> None:
    load = run_wrk if shutil.which("wrk") else run_httpx
    with serve_in_thread(stub_app()) as stub_url:
        bare_dir = data_dir / "bare"
        bare_dir.mkdir()
        (bare_dir / "bare_app.py").write_text(BARE_APP)
        bare_port = free_port()
        bare = subprocess.Popen([sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port), "--log-level", "warning"],
                                cwd=bare_dir)
        linli = Instance(database_url, data_dir, env={
            "LINLI_TELEGRAM_TOKEN": TG_TOKEN, "LINLI_TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
            "LINLI_TELEGRAM_API_BASE": stub_url, "LINLI_PUBLIC_URL": "", "LINLI_DUPLICATE_WINDOW_HOURS": "72",
            "LINLI_OUTBOX_POLL_SECONDS": "0.5", "LINLI_INBOX_DEFER": "true" if defer else "false",
            **({"LINLI_RUN_INBOX": "false"} if worker or accept_only else {}),
        }).start()
        helper = None
        if worker:  # a second process on the same database that gets no requests: it processes the inbox
            helper = Instance(database_url, data_dir, env={
                "LINLI_TELEGRAM_TOKEN": TG_TOKEN, "LINLI_TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
                "LINLI_TELEGRAM_API_BASE": stub_url, "LINLI_PUBLIC_URL": "", "LINLI_DUPLICATE_WINDOW_HOURS": "72",
                "LINLI_OUTBOX_POLL_SECONDS": "0.5", "LINLI_RUN_SCHEDULER": "false",
            }).start()
        try:
            if helper:
                helper.wait_ready(120)
            wait_ready(f"http://127.0.0.1:{bare_port}")
            linli.wait_ready(60)
            # warm both (first requests load the classifier model)
            load(f"http://127.0.0.1:{bare_port}", 2, 4, 10_000_000)
            load(linli.url, 2, 4, 20_000_000)
            results = {}
            results["bare FastAPI"] = load(f"http://127.0.0.1:{bare_port}", seconds, connections, 30_000_000)
            results["linli /webhooks/telegram"] = load(linli.url, seconds, connections, 40_000_000)
            rss = peak_rss_mb(linli.proc.pid)
            drain_start = time.monotonic()
            engine = make_engine(database_url)
            while not accept_only and time.monotonic() - drain_start < 600:  # deferred messages: how long the backlog takes
                with engine.connect() as conn:
                    if not conn.execute(sa.text("select count(*) from inbox where status in ('received','processing')")).scalar():
                        break
                time.sleep(0.2)
            drained = time.monotonic() - drain_start
            engine.dispose()
        finally:
            linli.stop()
            if helper:
                helper.stop()
            bare.terminate()
            bare.wait(10)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select count(*) from inbox where dedup_key like 'telegram:%'")).scalar()
        statuses = dict(conn.execute(sa.text("select status, count(*) from inbox group by status")).all())
        tickets = conn.execute(sa.text("select count(*) from tickets")).scalar()
    engine.dispose()
    bare_rps = results["bare FastAPI"]["rps"]
    for name, r in results.items():
        print(f"{name:26s} {r['rps']:8.0f} req/s  p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms  "
              f"({r['requests']} requests, non-2xx {r['non2xx']}, socket errors {r['errors']}, {r['tool']})")
    ratio = results["linli /webhooks/telegram"]["rps"] / bare_rps
    print(f"ratio linli / bare: {ratio:.2f}  (target ≥ 0.5); linli p99 target ≤ 50 ms")
    print(f"linli stored {stored} updates (inbox statuses {statuses}), {tickets} tickets; peak RSS {rss:.0f} MB; "
          f"inbox backlog processed {drained:.1f} s after the load ended")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--inline", action="store_true", help="LINLI_INBOX_DEFER=false: process before answering")
    parser.add_argument("--worker-process", action="store_true",
                        help="LINLI_RUN_INBOX=false on the loaded instance; a second instance (no requests) processes")
    parser.add_argument("--accept-only", action="store_true",
                        help="LINLI_RUN_INBOX=false and no second instance: the cost of accepting alone")
    args = parser.parse_args()
    args.defer = not args.inline
    print(f"machine: {machine()}; database {args.database}; LINLI_INBOX_DEFER={str(args.defer).lower()}")
    with tempfile.TemporaryDirectory(prefix="linli-webhook-", dir="/tmp") as tmp:
        if args.database == "postgres":
            with postgres_database() as url:
                bench(url, Path(tmp), args.seconds, args.connections, args.defer, args.worker_process, args.accept_only)
        else:
            bench(f"sqlite:///{tmp}/linli.sqlite3", Path(tmp), args.seconds, args.connections, args.defer, args.worker_process, args.accept_only)


if __name__ == "__main__":
    main()
