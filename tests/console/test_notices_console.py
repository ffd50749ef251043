"""The console's 通知 form: the same notice as 「通知 …」 in a chat, to every residents' group of the chosen
grid and below, delivered by the outbox; refused outside the account's grids or for care centres."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, select

from core.notices import Notice, NoticeChat

FIRE = "本周五上午消防检查，请清理楼道杂物"
BOTH_DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def _send(console, client, grid: str, text: str):
    form = client.get("/console/notices")
    assert form.status_code == 200
    return client.post("/console/notices", data={"csrf": console.csrf(form.text), "grid": grid, "text": text})


@BOTH_DATABASES
def test_an_admin_sends_a_notice_from_the_console_to_both_communities_residents_groups(console):
    admin = console.client("admin")
    r = _send(console, admin, "heping", FIRE)
    assert r.status_code == 303
    flash = parse_qs(urlsplit(r.headers["location"]).query)["msg"][0]
    assert "通知已发往和平街道的2个居民群" in flash
    for room in ("demo", "anle"):
        assert console.wait_sent(f"playground:{room}", FIRE) == f"【通知】{FIRE}\n——区指挥中心"
    with Session(console.runtime.engine) as s:
        (notice,) = s.exec(select(Notice)).all()
        chats = sorted(c.chat_key for c in s.exec(select(NoticeChat)))
    assert (notice.sender_key, notice.via, notice.grid_id) == ("playground:admin", "console", "heping")
    assert chats == ["playground:anle", "playground:demo"]
    listed = admin.get("/console/notices").text
    assert FIRE in listed and "区指挥中心（指挥台）" in listed


@BOTH_DATABASES
def test_a_grid_worker_may_not_notice_another_community_and_a_care_centre_may_not_notice_at_all(console):
    wang = console.client("wang")
    r = _send(console, wang, "anle", FIRE)
    assert r.status_code == 303 and "只有网格员和管理员可以发布" in parse_qs(urlsplit(r.headers["location"]).query)["msg"][0]
    r = _send(console, wang, "xingfu-1", "  ")
    assert "请在「通知」后面写上内容" in parse_qs(urlsplit(r.headers["location"]).query)["msg"][0]
    care = console.client("care")
    assert care.get("/console/notices").status_code == 403
    form = console.client("admin").get("/console/notices")
    assert care.post("/console/notices", data={"csrf": console.csrf(form.text), "grid": "xingfu", "text": FIRE}).status_code == 403
    with Session(console.runtime.engine) as s:
        assert s.exec(select(Notice)).all() == []


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_notice_from_the_console_reaches_two_residents_rooms_in_the_playground(console, browser):
    from tests.console.test_console_browser import sign_in

    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    try:
        page = context.new_page()
        sign_in(page, console, "admin")
        page.click("nav a[href='/console/notices']")
        page.select_option("#notice-form select[name=grid]", "heping")
        page.fill("#notice-form textarea[name=text]", FIRE)
        page.click("#notice-form button[type=submit]")
        page.wait_for_selector(".flash.ok:has-text('2个居民群')")
        assert FIRE in page.locator("table.notices").inner_text()
        for who, room in (("zhang", "demo"), ("zhou", "anle")):
            chat = context.new_page()
            chat.goto(console.url + f"/playground?as={who}&room={room}")
            bubble = chat.wait_for_selector(f".row.bot .bubble:has-text('{FIRE}')", timeout=10_000)
            assert "【通知】" in bubble.inner_text()
    finally:
        context.close()
