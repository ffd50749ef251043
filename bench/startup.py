"""Start-up time and memory of one ``linli serve``: default channels, then every channel configured.

    python bench/startup.py [--repeat 5] [--load-seconds 10]

- start-up: from spawning the process to the first ``200`` of ``/readyz`` (migrations
  already applied, as on every start after the first), median of ``--repeat`` starts;
- which optional SDKs the process imported (an unconfigured channel must not load its SDK);
- peak RSS (VmHWM) after ``--load-seconds`` of 50 concurrent senders on the playground API
  (default channels) or the Telegram webhook (every channel), loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.cluster import Instance  # noqa: E402
from bench.common import TEXTS, every_channel_env, machine, peak_rss_mb, serve_in_thread, stub_app  # noqa: E402
from bench.webhook import run_httpx  # noqa: E402

SDKS = ("aiogram", "wechatpy", "aiohttp", "cryptography")
PROBE = ("import sys, json; from bots.app import create_app; from config.settings import Settings; "
         "create_app(Settings()); print(json.dumps([m for m in {sdks} if m in sys.modules]))")


def imported_sdks(env: dict) -> list[str]:
    """SDKs a process has imported after building the app with this environment."""
    import json
    import os

    out = subprocess.run([sys.executable, "-c", PROBE.format(sdks=list(SDKS))], capture_output=True, text=True,
                         env={**os.environ, **env}, cwd=Path(__file__).resolve().parent.parent, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


async def playground_load(url: str, seconds: float, concurrency: int = 50) -> int:
    end = time.monotonic() + seconds
    sent = 0
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        async def sender(k: int) -> None:
            nonlocal sent
            i = 0
            while time.monotonic() < end:
                i += 1
                await client.post("/playground/api/messages", json={
                    "room": ("demo", "anle")[i % 2], "sender_id": f"p{k}", "text": f"{TEXTS[(i + k) % len(TEXTS)]}（{k}-{i}）",
                    "client_id": f"rss-{k}-{i}"})
                sent += 1
        await asyncio.gather(*(sender(k) for k in range(concurrency)))
    return sent


def measure(name: str, env: dict, repeat: int, load_seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="linli-startup-", dir="/tmp") as tmp:
        url = f"sqlite:///{tmp}/linli.sqlite3"
        first = Instance(url, Path(tmp), env=env).start()
        first_ready = first.wait_ready(120)
        first.stop()
        times = []
        for _ in range(repeat):
            inst = Instance(url, Path(tmp), env=env).start()
            times.append(inst.wait_ready(120))
            inst.stop()
        inst = Instance(url, Path(tmp), env=env).start()
        inst.wait_ready(120)
        idle = peak_rss_mb(inst.proc.pid)
        if "LINLI_TELEGRAM_TOKEN" in env:
            sent = run_httpx(inst.url, int(load_seconds), 50, 50_000_000)["requests"]
            what = "Telegram webhook"
        else:
            sent = asyncio.run(playground_load(inst.url, load_seconds))
            what = "playground API"
        peak = peak_rss_mb(inst.proc.pid)
        inst.stop()
    sdks = imported_sdks(env)
    print(f"{name}: start-up to ready {statistics.median(times):.2f} s median of {repeat} "
          f"(min {min(times):.2f}, max {max(times):.2f}; first start with migrations {first_ready:.2f} s); "
          f"RSS after start {idle:.0f} MB, peak {peak:.0f} MB after {sent} requests in {load_seconds:.0f} s on the {what}; "
          f"optional SDKs imported: {', '.join(sdks) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--load-seconds", type=float, default=10)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    measure("default channels (playground)", {}, args.repeat, args.load_seconds)
    with serve_in_thread(stub_app()) as stub_url:
        measure("every channel configured", every_channel_env(stub_url), args.repeat, args.load_seconds)


if __name__ == "__main__":
    main()
