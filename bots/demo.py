"""`linli demo`: a scripted neighbourhood conversation through the real bot and database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

from sqlmodel import Session, select

from bots.runtime import Runtime
from config.settings import Settings
from core.message import Message
from core.models import Chat

ROOM = "demo"
COMMUNITY_ROOM = "xingfu-staff"  # the staff rooms of config/grids.example.yaml
STREET_ROOM = "heping-staff"
SCRIPT: list[tuple[str, str, str, str]] = [
    # (room, sender id, sender name, text); {n1} {n2} … are the numbers the bot gave, in order.
    (ROOM, "zhang", "张阿姨", "大家早上好[太阳]"),
    (ROOM, "liu", "刘大爷", "早上好早上好"),
    (ROOM, "zhang", "张阿姨", "楼上漏水到我家了，天花板都湿了，沟通了好几次都没用，怎么办"),
    (ROOM, "liu", "刘大爷", "收到"),
    (ROOM, "liu", "刘大爷", "3栋楼道里有人给电动车充电，晚上很危险"),
    (ROOM, "zhang", "张阿姨", "哈哈哈"),
    (ROOM, "wangfang", "王芳（网格员）", "确认 {n1}"),
    (ROOM, "zhang", "张阿姨", "查询 {n1}"),
    (ROOM, "wangfang", "王芳（网格员）", "确认 {n2}"),
    (ROOM, "wangfang", "王芳（网格员）", "办结 {n2} 已联系物业，楼道充电的电动车已清走，已安装充电桩提示"),
    (ROOM, "liu", "刘大爷", "谢谢网格员！"),
    # an emergency: the resident gets the number to call; the staff room hears it, the residents' group does not
    (ROOM, "liu", "刘大爷", "5栋楼道里煤气味很重，快来人！"),
    # escalation, visible in the staff rooms: the grid worker to the community, the community to the street
    (ROOM, "wangfang", "王芳（网格员）", "上报 {n1} 楼上一直不开门，需要社区协调"),
    (COMMUNITY_ROOM, "chenshuji", "陈社区书记", "上报 {n1} 社区协调不了，请街道帮忙联系产权单位"),
]


def run_demo(tmp: Path) -> Iterator[str]:
    """Yield transcript lines; the tickets really are created in a temporary SQLite database."""
    settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'demo.sqlite3'}", run_outbox=False,
                        inbox_defer=False)
    runtime = Runtime(settings)
    runtime.prepare()
    with Session(runtime.engine) as session:
        titles = {c.key: c.title or c.key for c in session.exec(select(Chat))}
    numbers: dict[str, int] = {}
    room_now = None
    for i, (room, sender, name, text) in enumerate(SCRIPT):
        if room != room_now:
            room_now = room
            yield f"== linli demo: {titles[f'playground:{room}']} (playground:{room}) =="
        text = text.format(**numbers)
        yield f"{name}: {text}"
        message = Message(platform="playground", chat_id=room, message_id=f"demo-{i}", sender_id=sender, sender_name=name, text=text)
        result = asyncio.run(runtime.ingest(message))
        for row in result.outbox:
            if row.ticket_id and f"created:{row.ticket_id}" in row.dedup_key:
                numbers.setdefault(f"n{len(numbers) + 1}", row.ticket_id)
            buttons = " ".join(f"[{b['label']}]" for line in row.payload.get("buttons", []) for b in line)
            where = "" if row.chat_key == f"playground:{room}" else f"〔{titles.get(row.chat_key, row.chat_key)}〕"
            yield f"    邻里助手 → {where}{row.payload['text']}" + (f"  {buttons}" if buttons else "")
        if not result.outbox:
            yield "    (邻里助手保持安静)"
