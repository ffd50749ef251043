"""The real app under uvicorn, with console accounts and API tokens of several scopes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from core import accounts, db

# name -> (person of config/grids.example.yaml, scopes)
TOKENS = {
    "admin": ("playground:admin", ["read", "write"]),
    "wang-read": ("playground:wangfang", ["read"]),
    "wang": ("playground:wangfang", ["read", "write"]),
    "zhao": ("playground:zhaomin", ["read", "write"]),
    "volunteer": ("playground:volunteer-liu", ["read", "write"]),  # 志愿者小刘: the console lets a volunteer only read
    "care": ("playground:care", ["read", "write"]),  # 幸福居家养老服务中心: may file (relay), not act
}


@dataclass
class Api:
    url: str
    runtime: object
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[token]}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def say(self, text: str, *, sender: str = "zhang", name: str = "张阿姨", room: str = "demo") -> None:
        r = httpx.post(self.url + "/playground/api/messages", json={"room": room, "sender_id": sender, "sender_name": name, "text": text})
        assert r.status_code == 202, r.text


@pytest.fixture
def api_engine():
    """The engine the app under test uses; None: its own from the settings. A module overrides it
    to test, e.g., a short SQLite busy timeout."""
    return None


@pytest.fixture
def api(settings, serve_app, monkeypatch, api_engine) -> Iterator[Api]:
    from argon2 import PasswordHasher

    from bots.app import create_app
    from bots.runtime import Runtime

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    app_settings = settings.model_copy(update={"run_outbox": True, "outbox_poll_seconds": 0.05})
    app = create_app(app_settings, Runtime(app_settings, engine=api_engine) if api_engine is not None else None)
    with serve_app(app) as server:
        runtime = app.state.runtime
        out = Api(server.url, runtime)
        with db.session_scope(runtime.engine) as s:
            made = {}
            for name, (person, scopes) in TOKENS.items():
                if person not in made:
                    made[person] = accounts.create_account(s, person.split(":")[1], person, "api-test-password")
                out.tokens[name] = accounts.issue_token(s, made[person], name, scopes)[1]
        yield out
