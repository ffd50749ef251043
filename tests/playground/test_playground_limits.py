"""The open playground over real HTTP: only declared rooms exist, posts are limited per client
address and per room (429 with Retry-After), deep JSON and out-of-range cursors are 4xx, and
the room shows phone numbers masked, in people's messages and in the quotes under the bot's."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import Session, func, select

from bots.app import create_app
from core.models import Chat, InboxMessage, Person


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def serve(settings, serve_app):
    """``with serve(**setting_overrides) as server``: the app on loopback, outbox running."""
    def start(**overrides):
        app = create_app(settings.model_copy(update={"run_outbox": True, "outbox_poll_seconds": 0.05, **overrides}))
        server = serve_app(app)
        server.engine = app.state.runtime.engine
        return server
    return start


def _post(server, client: httpx.Client | None = None, **body) -> httpx.Response:
    payload = {"room": "demo", "sender_id": "zhang", "sender_name": "张阿姨", "text": "早上好"} | body
    return (client or httpx).post(server.url + "/playground/api/messages", json=payload, timeout=10)


@pytest.mark.slow  # hundreds of posts through a real server
def test_posts_to_rooms_not_in_the_grids_file_are_refused_and_store_nothing(serve):
    with serve(playground_posts_per_minute=0, playground_room_posts_per_minute=0) as server:
        chats, people = _count(server.engine, Chat), _count(server.engine, Person)

        def flood(i: int) -> int:
            with httpx.Client(timeout=10) as client:
                return _post(server, client, room=f"made-up-{i}", sender_id=f"filler{i}", text="漏" * 4000).status_code

        with ThreadPoolExecutor(4) as pool:  # four clients at once, as in the report
            statuses = list(pool.map(flood, range(200)))
        assert set(statuses) == {404}
        r = _post(server, room="made-up-0")
        assert "grids file" in r.json()["detail"]
        assert _count(server.engine, InboxMessage) == 0
        assert (_count(server.engine, Chat), _count(server.engine, Person)) == (chats, people)
        assert httpx.get(server.url + "/playground/api/rooms/made-up-0/messages").status_code == 404
        assert _post(server, room="demo").status_code == 202  # the declared room still works


def test_posts_are_limited_per_client_address_across_rooms(serve):
    with serve(playground_posts_per_minute=5, playground_room_posts_per_minute=0) as server:
        statuses = [_post(server, room=("demo", "anle")[i % 2], client_id=f"a{i}").status_code for i in range(5)]
        assert statuses == [202] * 5
        refused = _post(server, room="anle", client_id="a5")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert _count(server.engine, InboxMessage) == 5


def test_posts_are_limited_per_room(serve):
    with serve(playground_posts_per_minute=0, playground_room_posts_per_minute=3) as server:
        assert [_post(server, client_id=f"r{i}").status_code for i in range(3)] == [202] * 3
        refused = _post(server, client_id="r3")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert _post(server, room="anle", client_id="r4").status_code == 202  # another room has its own budget
        assert _count(server.engine, InboxMessage) == 4


def test_a_throttle_refills_at_its_rate_and_says_how_long_to_wait():
    from bots.throttle import Throttle

    now = [0.0]
    throttle = Throttle(6, clock=lambda: now[0])  # 6 a minute: one every 10 s
    assert [throttle.take("a") for _ in range(6)] == [0.0] * 6
    assert throttle.take("a") == pytest.approx(10.0)
    assert throttle.take("b") == 0.0  # keys are independent
    now[0] = 10.0
    assert throttle.take("a") == 0.0 and throttle.take("a") > 0
    assert Throttle(0).take("a") == 0.0  # 0: no limit


def test_deep_json_and_out_of_range_cursors_are_4xx(serve):
    with serve() as server:
        deep = b"[" * 100_000 + b"]" * 100_000
        r = httpx.post(server.url + "/playground/api/messages", content=deep, headers={"content-type": "application/json"})
        assert r.status_code == 400 and "nested" in r.json()["detail"]
        wrapped = json.dumps({"room": "demo", "sender_id": "zhang", "text": "hi"})[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}"
        assert httpx.post(server.url + "/playground/api/messages", content=wrapped).status_code == 400
        for query in (f"after_in={2**70}", f"after_out={2**63}", "after_in=-1"):
            r = httpx.get(server.url + f"/playground/api/rooms/demo/messages?{query}")
            assert r.status_code == 422, (query, r.status_code)
        assert _count(server.engine, InboxMessage) == 0


def test_the_room_shows_phone_numbers_masked_in_messages_and_quotes(serve):
    with serve() as server:
        r = _post(server, sender_id="care", sender_name="幸福居家养老服务中心",
                  text="代办 张大爷 3栋502 138 0013 8000 需要买药送药", client_id="relay-1")
        assert r.status_code == 202
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the bot's answer is sent by the outbox worker
            items = httpx.get(server.url + "/playground/api/rooms/demo/messages").json()["items"]
            if any(i["kind"] == "bot" for i in items):
                break
            time.sleep(0.05)
        relay = next(i for i in items if i["kind"] == "in")
        bot = next(i for i in items if i["kind"] == "bot")
        assert bot["reply_to"] == relay["message_id"]  # the page quotes the relay's text above the answer
        assert relay["text"] == "代办 张大爷 3栋502 138 **** 8000 需要买药送药"
        assert all("0013" not in i["text"] for i in items)
