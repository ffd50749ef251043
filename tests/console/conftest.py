"""The real app under uvicorn with console accounts, and helpers to sign in and to talk in the playground."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from core import accounts, db

PASSWORD = "correct horse battery"
# username -> person of config/grids.example.yaml
ACCOUNTS = {
    "admin": "playground:admin",  # 区指挥中心: everything
    "wang": "playground:wangfang",  # grid worker of 幸福社区第一网格 (room demo)
    "zhao": "playground:zhaomin",  # grid worker of 安乐社区第一网格 (room anle)
    "care": "playground:care",  # 幸福居家养老服务中心, trusted care centre
}


@dataclass
class Console:
    url: str
    runtime: object

    def client(self, username: str | None = None) -> httpx.Client:
        """An HTTP client, signed in as ``username`` when given."""
        client = httpx.Client(base_url=self.url, timeout=60, follow_redirects=False)
        if username:
            page = client.get("/console/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            r = client.post("/console/login", data={"username": username, "password": PASSWORD, "csrf": csrf, "next": "/console/tickets"})
            assert r.status_code == 303 and r.headers["location"] == "/console/tickets", r.text
        return client

    def sign_in(self, page, username: str) -> None:
        """Sign a browser page in through the form, as a person would."""
        page.goto(self.url + "/console/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/tickets")

    def say(self, text: str, *, sender: str = "zhang", name: str = "张阿姨", room: str = "demo") -> dict:
        """A resident posts in a playground room (through the real channel)."""
        r = httpx.post(self.url + "/playground/api/messages", json={"room": room, "sender_id": sender, "sender_name": name, "text": text},
                       timeout=60)
        assert r.status_code == 202, r.text
        return r.json()

    @staticmethod
    def csrf(html: str) -> str:
        """The CSRF token of the first form on a page."""
        return re.search(r'name="csrf" value="([^"]+)"', html).group(1)

    def report(self, text: str, **kw) -> int:
        """A resident reports a problem; returns the new ticket's number."""
        from sqlmodel import Session, select

        from core.models import Ticket

        self.say(text, **kw)
        with Session(self.runtime.engine) as s:
            number = s.exec(select(Ticket.id).where(Ticket.text == text).order_by(Ticket.id.desc())).first()
        assert number is not None, f"the bot filed no ticket for {text!r}"
        return number

    def ticket(self, number: int):
        from sqlmodel import Session

        from core.models import Ticket

        with Session(self.runtime.engine) as s:
            return s.get(Ticket, number)

    def wait_sent(self, chat_key: str, contains: str, timeout: float = 10) -> str:
        """The text of a delivered bot reply in a chat containing ``contains`` (the outbox worker sends it)."""
        from sqlmodel import Session, select

        from core.models import OutboxMessage

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with Session(self.runtime.engine) as s:
                rows = s.exec(select(OutboxMessage).where(OutboxMessage.chat_key == chat_key, OutboxMessage.status == "sent")).all()
            for row in rows:
                if contains in row.payload["text"]:
                    return row.payload["text"]
            time.sleep(0.05)
        raise AssertionError(f"no reply containing {contains!r} was delivered to {chat_key}")


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    """Real argon2, with test-sized cost (the production parameters take about a second per hash here)."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def console_with(settings, serve_app):
    """Start consoles with settings of the test's choosing: ``with console_with(login_max_failures=3) as c:``.
    Several on one database are several instances of linli."""
    from contextlib import contextmanager

    from bots.app import create_app

    @contextmanager
    def start(*, accounts_too: bool = True, **overrides) -> Iterator[Console]:
        live = settings.model_copy(update={"run_outbox": True, "outbox_poll_seconds": 0.05, "secret_key": "test-secret",
                                           **overrides})
        app = create_app(live)
        with serve_app(app) as server:
            runtime = app.state.runtime
            if accounts_too:
                with db.session_scope(runtime.engine) as s:
                    for username, person in ACCOUNTS.items():
                        accounts.create_account(s, username, person, PASSWORD)
            yield Console(server.url, runtime)

    return start


@pytest.fixture
def console(console_with) -> Iterator[Console]:
    """linli with the console, API and playground on a free port, and four console accounts."""
    with console_with() as c:
        yield c
