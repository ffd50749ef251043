"""The playground when a real channel (here Telegram, on the fake Bot API) is configured, over
real HTTP: off by default, so the issue's attack (an anonymous post as the district admin with
「办结 1 已处理」) changes nothing; with LINLI_PLAYGROUND=true it needs a console session and
speaks as that account's person, whatever sender the client names."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlmodel import Session, select

from bots.app import create_app
from core import accounts, db
from core.models import InboxMessage, Ticket

PASSWORD = "playground-test-password"
ATTACK = {"room": "demo", "sender_id": "admin", "sender_name": "区指挥中心", "text": "办结 1 已处理"}


@pytest.fixture
def serve(tg_settings, serve_app, monkeypatch):
    """``with serve(playground=…) as server``: Telegram on, console accounts for a volunteer and the admin."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

    def start(**overrides):
        app = create_app(tg_settings.model_copy(update={"run_outbox": True, "outbox_poll_seconds": 0.05, **overrides}))
        server = serve_app(app)
        server.engine = app.state.runtime.engine
        return server

    return start


def _file_a_telegram_ticket(server, updates) -> None:
    r = httpx.post(server.url + "/webhooks/telegram", json=updates.text("楼上漏水到我家了，天花板都湿了"),
                   headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-for-tests"})
    assert r.status_code == 200
    assert _state(server, 1) == "pending"


def _state(server, number: int) -> str:
    with Session(server.engine) as s:
        return s.get(Ticket, number).state


def _senders(server) -> list[str]:
    with Session(server.engine) as s:
        return [row.sender_key for row in s.exec(select(InboxMessage).order_by(InboxMessage.id))]


def _sign_in(server, username: str) -> tuple[httpx.Client, str]:
    """A client signed in to the console, and the playground's CSRF token for it."""
    with db.session_scope(server.engine) as s:
        accounts.create_account(s, username, {"liu": "playground:volunteer-liu", "admin": "playground:admin"}[username], PASSWORD)
    client = httpx.Client(base_url=server.url, timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text).group(1)
    r = client.post("/console/login", data={"username": username, "password": PASSWORD, "csrf": csrf, "next": "/playground"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/playground"
    setup = client.get("/playground/api/setup").json()
    return client, setup["csrf"]


def test_with_telegram_configured_the_playground_is_off_and_the_attack_resolves_nothing(serve, bot_api, updates):
    with serve() as server:
        _file_a_telegram_ticket(server, updates)
        r = httpx.post(server.url + "/playground/api/messages", json=ATTACK)
        assert r.status_code == 404
        assert httpx.get(server.url + "/playground").status_code == 404
        assert httpx.get(server.url + "/", follow_redirects=False).headers["location"] == "/docs"
        assert _state(server, 1) == "pending"
        assert _senders(server) == ["telegram:300000001"]
        assert not any("办结" in m["text"] for m in bot_api.sent())


def test_with_playground_on_it_needs_a_console_session_and_speaks_as_its_person(serve, bot_api, updates):
    with serve(playground=True) as server:
        _file_a_telegram_ticket(server, updates)
        # anonymous: refused before anything is stored
        assert httpx.post(server.url + "/playground/api/messages", json=ATTACK).status_code == 401
        page = httpx.get(server.url + "/playground", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/console/login?next=/playground"
        assert httpx.get(server.url + "/playground/api/rooms/demo/messages").status_code == 401
        assert _senders(server) == ["telegram:300000001"]

        volunteer, csrf = _sign_in(server, "liu")
        setup = volunteer.get("/playground/api/setup").json()
        assert setup["signed_in"] and [p["name"] for p in setup["people"]] == ["志愿者小刘"]  # no identity picker
        # the client cannot choose who it is, and the session alone is not enough (CSRF)
        assert volunteer.post("/playground/api/messages", json=ATTACK, headers={"X-CSRF-Token": csrf}).status_code == 403
        attack = {k: v for k, v in ATTACK.items() if k not in ("sender_id", "sender_name")}
        assert volunteer.post("/playground/api/messages", json=attack).status_code == 403
        assert volunteer.post("/playground/api/messages", json=attack, headers={"X-CSRF-Token": csrf}).status_code == 202
        assert _senders(server) == ["telegram:300000001", "playground:volunteer-liu"]
        assert _state(server, 1) == "pending"  # a volunteer may not resolve it

        admin, csrf = _sign_in(server, "admin")
        r = admin.post("/playground/api/messages", json={"room": "demo", "text": "确认 1"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 202
        assert _state(server, 1) == "confirmed"
        deadline = time.monotonic() + 10
        while not any("已受理" in m["text"] for m in bot_api.sent()):  # the Telegram group is told
            assert time.monotonic() < deadline, bot_api.sent()
            time.sleep(0.05)
