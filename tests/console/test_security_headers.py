"""Every response of the console, the API and the playground forbids framing and sniffing, and the pages
still work in Chromium under their Content-Security-Policy (no violation reported)."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

PASSWORD = "correct horse battery"
LEAK = "楼上漏水到我家了，天花板都湿了"


def _assert_protected(r: httpx.Response) -> None:
    where = f"{r.request.method} {r.request.url.path} ({r.status_code})"
    assert r.headers.get("x-frame-options") == "DENY", where
    assert r.headers.get("x-content-type-options") == "nosniff", where
    assert r.headers.get("referrer-policy") in ("same-origin", "no-referrer", "strict-origin"), where
    assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", ""), where


def test_every_kind_of_response_carries_the_headers(console):
    number = console.report(LEAK)
    admin = console.client("admin")
    anonymous = console.client()
    from core import accounts, db

    with db.session_scope(console.runtime.engine) as s:
        _, token = accounts.issue_token(s, accounts.account_named(s, "admin"), "ci", "read")
    api = httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {token}"})
    responses = [
        anonymous.get("/console/login"), anonymous.get("/console/tickets"),  # a page and a redirect to sign in
        anonymous.post("/console/login", data={"username": "x"}),  # 403: no CSRF token
        admin.get("/console/tickets"), admin.get(f"/console/tickets/{number}"), admin.get("/console/stats"),
        admin.get("/console/tickets.csv"), admin.get("/console/tickets/99999"), admin.get("/console/static/console.css"),
        api.get("/api/tickets"), api.get(f"/api/tickets/{number}"), httpx.get(console.url + "/api/tickets"),  # 200s and a 401
        api.get("/api/tickets/abc"),  # 422
        httpx.get(console.url + "/open311/v2/services.json"), httpx.get(console.url + "/playground"),
        httpx.get(console.url + "/playground/api/setup"), httpx.get(console.url + "/no/such/page"),
        httpx.post(console.url + "/playground/api/messages", content=b"x" * 2_000_000),  # 413
        httpx.get(console.url + "/docs"), httpx.get(console.url + "/openapi.json"), httpx.get(console.url + "/healthz"),
    ]
    for r in responses:
        _assert_protected(r)
    with httpx.stream("GET", console.url + "/console/events", cookies=admin.cookies, timeout=10) as live:
        _assert_protected(live)


def test_console_pages_allow_only_their_own_scripts_and_styles(console):
    policy = console.client("admin").get("/console/tickets").headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    playground = httpx.get(console.url + "/playground").headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in playground and "unsafe-inline" not in playground


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    yield ctx
    ctx.close()


def _watch_csp(page) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return violations


@pytest.mark.browser
def test_console_and_playground_work_in_chromium_with_no_policy_violation(console, context):
    number = console.report(LEAK)
    chat = context.new_page()
    chat_violations = _watch_csp(chat)
    chat.goto(console.url + "/playground?as=zhang&room=demo")
    chat.wait_for_selector("#status:has-text('已连接')")
    chat.wait_for_selector(f".row.bot .bubble:has-text('#{number}')")  # the page's own script drew the transcript

    page = context.new_page()
    violations = _watch_csp(page)
    page.goto(console.url + "/console/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/tickets")
    page.wait_for_selector("#live-status:has-text('实时更新中')")  # console.js runs
    for path in (f"/console/tickets/{number}", "/console/stats", "/console/relay", "/console/accounts", "/console/tokens",
                 "/console/outbox"):
        page.goto(console.url + path)
        page.wait_for_load_state("load")
    page.goto(console.url + f"/console/tickets/{number}")
    page.click("form[data-action=confirm] button")
    page.wait_for_selector(".flash.ok")
    chat.wait_for_selector(f".row.bot .bubble:has-text('#{number} 已受理')", timeout=10_000)
    chat.fill("#text", "查询 1")
    chat.press("#text", "Enter")
    chat.wait_for_selector(".row.mine .bubble:has-text('查询 1')")
    assert violations == [] and chat_violations == []


@pytest.mark.browser
def test_another_site_cannot_frame_the_console(console, context, serve_app):
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    evil = FastAPI()
    evil.get("/healthz")(lambda: {"ok": True})
    evil.get("/")(lambda: HTMLResponse(f'<iframe id="f" src="{console.url}/console/login"></iframe>'))
    with serve_app(evil) as site:
        page = context.new_page()
        page.goto(site.url.replace("127.0.0.1", "localhost") + "/")
        page.wait_for_load_state("load")
        framed = [f for f in page.frames if f is not page.main_frame]
        assert framed, "the iframe exists"
        assert framed[0].evaluate("() => document.querySelector('input[name=password]') === null")
