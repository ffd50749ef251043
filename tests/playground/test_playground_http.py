"""The playground API over real HTTP: posting, the live transcript, and refusals that store nothing."""

from __future__ import annotations

import json
import time

import httpx
from sqlmodel import Session, func, select

from core.models import InboxMessage


def _post(server, **body):
    base = {"room": "demo", "sender_id": "zhang", "sender_name": "张阿姨"}
    return httpx.post(server.url + "/playground/api/messages", json=base | body, timeout=10)


def _wait_for_bot(server, predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = httpx.get(server.url + "/playground/api/rooms/demo/messages", timeout=5).json()["items"]
        bot = [i for i in items if i["kind"] == "bot"]
        if predicate(bot):
            return bot
        time.sleep(0.05)
    raise AssertionError(f"bot messages never matched; last: {bot}")


def _inbox_count(live_server, settings):
    from core.db import make_engine

    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as s:
        n = s.exec(select(func.count()).select_from(InboxMessage)).one()
    engine.dispose()
    return n


def test_setup_lists_rooms_and_identities_with_roles(live_server):
    setup = httpx.get(live_server.url + "/playground/api/setup").json()
    assert {"demo", "anle"} <= {r["id"] for r in setup["rooms"]}
    roles = {p["role"] for p in setup["people"]}
    assert {"resident", "grid_worker", "care_center"} <= roles
    assert setup["people"][0]["role"] == "resident"


def test_complaint_gets_a_numbered_reply_through_the_outbox(live_server):
    assert _post(live_server, text="楼上漏水到我家了，天花板都湿了").status_code == 202
    [reply] = _wait_for_bot(live_server, lambda bot: len(bot) == 1)
    assert "#1" in reply["text"] and reply["buttons"]
    assert reply["buttons"][0][0]["data"] == "t:confirm:1"


def test_button_press_by_the_grid_worker_confirms(live_server):
    _post(live_server, text="楼道灯坏了好几天了")
    _wait_for_bot(live_server, lambda bot: len(bot) == 1)
    r = _post(live_server, sender_id="wangfang", sender_name="王芳", action_data="t:confirm:1")
    assert r.status_code == 202
    bot = _wait_for_bot(live_server, lambda bot: len(bot) >= 2)
    assert "已受理" in bot[-1]["text"]


def test_stream_sends_history_as_server_sent_events(live_server):
    _post(live_server, text="早上好")
    with httpx.stream("GET", live_server.url + "/playground/api/rooms/demo/stream", timeout=10) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                item = json.loads(line[6:])
                assert item["kind"] == "in" and item["text"] == "早上好"
                break


def test_bad_posts_get_4xx_and_store_nothing(live_server, settings):
    before = _inbox_count(live_server, settings)
    cases = [
        (b"not json", 400),
        (json.dumps({"room": "demo", "sender_id": "zhang", "text": "   "}).encode(), 400),  # empty
        (json.dumps({"room": "demo", "sender_id": "zhang", "text": "漏" * 5000}).encode(), 400),  # too long
        (json.dumps({"room": "../etc", "sender_id": "zhang", "text": "hi"}).encode(), 400),
        (json.dumps({"sender_id": "zhang", "text": "hi"}).encode(), 400),
        ("楼上漏水".encode("gbk"), 400),  # invalid UTF-8
        (b"x" * 2_000_000, 413),
    ]
    for body, status in cases:
        r = httpx.post(live_server.url + "/playground/api/messages", content=body, headers={"content-type": "application/json"})
        assert r.status_code == status, (body[:40], r.status_code, r.text)
        assert "Traceback" not in r.text
    assert _inbox_count(live_server, settings) == before


def test_healthz_answers_once_ready(live_server):
    assert httpx.get(live_server.url + "/healthz").json() == {"status": "ok"}


def test_staff_rooms_are_listed_after_the_residents_groups_and_an_emergency_shows_there(live_server):
    rooms = httpx.get(live_server.url + "/playground/api/setup").json()["rooms"]
    audience = {r["id"]: r["audience"] for r in rooms}
    assert audience["demo"] == "residents" and audience["xingfu-staff"] == audience["heping-staff"] == "staff"
    assert [r["audience"] for r in rooms] == sorted(r["audience"] for r in rooms)  # residents first
    assert _post(live_server, text="3栋502着火了，冒烟很大！").status_code == 202
    deadline = time.monotonic() + 10
    staff: list = []
    while time.monotonic() < deadline and not staff:
        items = httpx.get(live_server.url + "/playground/api/rooms/xingfu-staff/messages", timeout=5).json()["items"]
        staff = [i for i in items if i["kind"] == "bot"]
        time.sleep(0.05)
    assert staff and staff[0]["text"].startswith("【紧急】#1")
    (answer,) = _wait_for_bot(live_server, lambda bot: len(bot) == 1)
    assert "已通知网格员王芳和上级" in answer["text"] and "【" not in answer["text"]
