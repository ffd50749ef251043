"""Webhooks served ahead of FastAPI (bots/fast_path.py), over real HTTP under uvicorn."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bots.fast_path import Answer, LinliApp

LIMIT = 1000


@pytest.fixture
def hook(serve_app):
    """A LinliApp with one fast route that records what it was given and what ran after."""
    app = LinliApp(max_body_bytes=LIMIT)
    seen: dict = {"bodies": [], "after": [], "order": []}

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    @app.get("/framework")
    def framework():
        return {"served": "by FastAPI"}

    async def handler(headers: dict[str, str], body: bytes) -> Answer:
        seen["bodies"].append((headers.get("x-token"), body))
        if body == b"boom":
            raise RuntimeError("secret internals /etc/passwd")
        if body == b"refuse":
            return Answer(403, {"detail": "wrong token"})

        async def after() -> None:
            await asyncio.sleep(0)
            seen["after"].append(body)
            if body == b"after-fails":
                raise RuntimeError("after failed")

        return Answer(200, {"ok": True}, after=after)

    app.add_fast_route("/webhooks/test", handler)
    with serve_app(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield client, seen, app


def test_a_fast_route_gets_headers_and_body_and_answers_json(hook):
    client, seen, _ = hook
    r = client.post("/webhooks/test", content=b"hello", headers={"X-Token": "abc"})
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert r.headers["content-type"] == "application/json"
    assert seen["bodies"] == [("abc", b"hello")]


def test_work_after_the_answer_runs_once_the_response_is_sent(hook):
    client, seen, _ = hook
    client.post("/webhooks/test", content=b"one")
    for _ in range(100):
        if seen["after"]:
            break
        time.sleep(0.01)
    assert seen["after"] == [b"one"]


def test_failing_after_work_does_not_change_the_answer_or_the_next_request(hook):
    client, seen, _ = hook
    assert client.post("/webhooks/test", content=b"after-fails").status_code == 200
    assert client.post("/webhooks/test", content=b"next").status_code == 200


def test_a_handlers_refusal_keeps_its_status(hook):
    client, _, _ = hook
    r = client.post("/webhooks/test", content=b"refuse")
    assert r.status_code == 403 and r.json() == {"detail": "wrong token"}


def test_a_crashing_handler_answers_500_without_a_trace(hook):
    client, _, _ = hook
    r = client.post("/webhooks/test", content=b"boom")
    assert r.status_code == 500
    assert "Traceback" not in r.text and "passwd" not in r.text and "retry" in r.json()["detail"]


def test_other_methods_get_405_naming_post(hook):
    client, seen, _ = hook
    r = client.get("/webhooks/test")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert seen["bodies"] == []


def test_a_body_over_the_limit_is_refused_before_the_handler_sees_it(hook):
    client, seen, _ = hook
    assert client.post("/webhooks/test", content=b"x" * (LIMIT + 1)).status_code == 413
    # chunked, no Content-Length: cut off while reading
    r = client.post("/webhooks/test", content=iter([b"x" * 600, b"x" * 600]))
    assert r.status_code == 413
    assert seen["bodies"] == []
    assert client.post("/webhooks/test", content=b"x" * LIMIT).status_code == 200


def test_an_empty_body_reaches_the_handler_as_empty_bytes(hook):
    client, seen, _ = hook
    assert client.post("/webhooks/test", content=b"").status_code == 200
    assert seen["bodies"] == [(None, b"")]


def test_every_other_path_is_served_by_fastapi(hook):
    client, _, _ = hook
    assert client.get("/framework").json() == {"served": "by FastAPI"}
    assert client.post("/webhooks/other").status_code == 404


def test_one_path_takes_one_handler(hook):
    _, _, app = hook
    with pytest.raises(ValueError, match="already"):
        app.add_fast_route("/webhooks/test", lambda headers, body: None)



def test_a_content_length_that_is_not_a_decimal_number_is_not_a_crash():
    # uvicorn refuses such a header itself; another ASGI server might not, so the app checks too
    app = LinliApp(max_body_bytes=LIMIT)

    async def handler(headers, body):
        return Answer(200, {"ok": True})

    app.add_fast_route("/hook", handler)
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/hook", "headers": [(b"content-length", "²".encode("latin-1"))]}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
