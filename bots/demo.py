"""`linli demo`: a scripted neighbourhood conversation through the real bot and database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

from bots.runtime import Runtime
from config.settings import Settings
from core.message import Message

ROOM = "demo"
SCRIPT: list[tuple[str, str, str]] = [
    # (sender id, sender name, text); {n1} {n2} are the numbers the bot gave.
    ("zhang", "张阿姨", "大家早上好[太阳]"),
    ("liu", "刘大爷", "早上好早上好"),
    ("zhang", "张阿姨", "楼上漏水到我家了，天花板都湿了，沟通了好几次都没用，怎么办"),
    ("liu", "刘大爷", "收到"),
    ("liu", "刘大爷", "3栋楼道里有人给电动车充电，晚上很危险"),
    ("zhang", "张阿姨", "哈哈哈"),
    ("wangfang", "王芳（网格员）", "确认 {n1}"),
    ("zhang", "张阿姨", "查询 {n1}"),
    ("wangfang", "王芳（网格员）", "确认 {n2}"),
    ("wangfang", "王芳（网格员）", "办结 {n2} 已联系物业，楼道充电的电动车已清走，已安装充电桩提示"),
    ("liu", "刘大爷", "谢谢网格员！"),
]


def run_demo(tmp: Path) -> Iterator[str]:
    """Yield transcript lines; the tickets really are created in a temporary SQLite database."""
    settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'demo.sqlite3'}", run_outbox=False,
                        inbox_defer=False)
    runtime = Runtime(settings)
    runtime.prepare()
    numbers: dict[str, int] = {}
    yield "== linli demo: 幸福里3栋邻里群 (playground:demo) =="
    for i, (sender, name, text) in enumerate(SCRIPT):
        text = text.format(n1=numbers.get("n1", "?"), n2=numbers.get("n2", "?"))
        yield f"{name}: {text}"
        message = Message(platform="playground", chat_id=ROOM, message_id=f"demo-{i}", sender_id=sender, sender_name=name, text=text)
        result = asyncio.run(runtime.ingest(message))
        for row in result.outbox:
            if row.ticket_id and f"created:{row.ticket_id}" in row.dedup_key:
                numbers.setdefault("n1" if "n1" not in numbers else "n2", row.ticket_id)
            buttons = " ".join(f"[{b['label']}]" for line in row.payload.get("buttons", []) for b in line)
            yield f"    邻里助手 → {row.payload['text']}" + (f"  {buttons}" if buttons else "")
        if not result.outbox:
            yield "    (邻里助手保持安静)"
