"""Shared pieces of the benchmark scripts: the machine description, percentiles, throwaway
databases, and a loopback stub of every platform API (Telegram Bot API, WeChat/WeCom)."""

from __future__ import annotations

import os
import platform
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("LINLI_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TG_TOKEN = "123456789:AAE-linli-bench-token"
TG_SECRET = "bench-secret"
TG_GROUP = -1001234567890  # bound to grid xingfu-1 in config/grids.example.yaml
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

# What residents write: requests of several kinds, commands, and the chatter that is most of a group chat.
TEXTS = [
    "楼上漏水到我家了，天花板都湿了", "小区路灯坏了好几天了晚上很黑", "电梯又坏了，老人上不去楼",
    "楼道里垃圾三天没人清运了，很臭", "隔壁装修太吵了，晚上十点还在打墙", "3号楼门口的井盖松了，很危险",
    "家里停水了，什么时候来水？", "独居的王奶奶两天没出门了，敲门也没人应", "小区里有人乱停车，把消防通道堵了",
    "绿化带的树枝断了挂在半空", "早上好", "收到", "谢谢大家", "哈哈哈", "[强][强]", "今天天气不错",
    "有人知道快递点几点关门吗", "好的", "明天几点开会？", "辛苦了",
]


def machine() -> str:
    """One paragraph: CPU, cores, memory, OS, Python, SQLite, PostgreSQL, and the load right now."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")).split()[1])
    try:
        pg = subprocess.run(["psql", PG_ADMIN, "-Atc", "show server_version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pg = "n/a"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB RAM; {platform.platform()}; "
            f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; PostgreSQL {pg}; "
            f"load average at start {load}")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_database(prefix: str = "linli_bench"):
    """A throwaway PostgreSQL database (dropped afterwards); yields its URL."""
    admin = sa.create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False).replace("+psycopg", "")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def stub_app():
    """Every platform API linli calls, answering success: Bot API methods with the shapes aiogram
    checks, WeChat/WeCom with errcode 0 and an access token."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    ids = iter(range(10_000, 10**9))

    async def any_call(request: Request) -> JSONResponse:
        path = request.url.path
        if "/bot" in path:
            method = path.rsplit("/", 1)[-1]
            if method == "getMe":
                return JSONResponse({"ok": True, "result": {"id": 123456789, "is_bot": True, "first_name": "邻里",
                                                            "username": "linli_bench_bot"}})
            if method in ("sendMessage", "editMessageText"):
                params = await request.json() if "json" in request.headers.get("content-type", "") else dict(await request.form())
                chat_id = int(params.get("chat_id", TG_GROUP))
                return JSONResponse({"ok": True, "result": {
                    "message_id": int(params.get("message_id") or next(ids)), "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private"}, "text": str(params.get("text", "")),
                }})
            return JSONResponse({"ok": True, "result": True})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "access_token": "bench-token", "expires_in": 7200, "msgid": 1})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/healthz", healthz), Route("/{path:path}", any_call, methods=["GET", "POST"])])


@contextmanager
def serve_in_thread(app, port: int | None = None):
    """Run an ASGI app under uvicorn in a thread on loopback; yields its base URL."""
    import httpx
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(500):
        try:
            httpx.get(url + "/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


def every_channel_env(stub_url: str) -> dict[str, str]:
    """Environment that turns every channel on, each platform API pointed at the stub."""
    return {
        "LINLI_TELEGRAM_TOKEN": TG_TOKEN, "LINLI_TELEGRAM_WEBHOOK_SECRET": TG_SECRET, "LINLI_TELEGRAM_API_BASE": stub_url,
        "LINLI_PUBLIC_URL": "",
        "LINLI_WECHAT_TOKEN": "wx-token", "LINLI_WECHAT_APP_ID": "wx1234567890abcdef", "LINLI_WECHAT_APP_SECRET": "s",
        "LINLI_WECHAT_AES_KEY": AES_KEY, "LINLI_WECHAT_API_BASE": stub_url,
        "LINLI_WECOM_CORP_ID": "ww123", "LINLI_WECOM_AGENT_ID": "1000002", "LINLI_WECOM_SECRET": "s",
        "LINLI_WECOM_TOKEN": "wc-token", "LINLI_WECOM_AES_KEY": AES_KEY, "LINLI_WECOM_API_BASE": stub_url,
        "LINLI_WECOM_BOT_TOKEN": "bot-token", "LINLI_WECOM_BOT_AES_KEY": AES_KEY,
        "LINLI_WECOM_ROBOT_WEBHOOKS": f"notices={stub_url}/robot/notices",
    }


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set so far, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
