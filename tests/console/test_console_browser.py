"""The console in Debian's Chromium: sign in, filter, open a ticket, confirm it and see the reply in the playground chat;
live rows without reloading; hostile text shown as text; a phone-sized screen."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

LEAK = "楼上漏水到我家了，天花板都湿了"


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    yield ctx
    ctx.close()


def sign_in(page, console, username: str) -> None:
    console.sign_in(page, username)


def test_sign_in_filter_open_confirm_and_the_chat_hears_it(console, context, tmp_path):
    number = console.report(LEAK)
    console.report("安乐家园垃圾桶满了好几天没人清运，味道很大", sender="resident-anle", name="周先生", room="anle")
    page = context.new_page()
    sign_in(page, console, "admin")
    assert page.locator("table.tickets tbody tr").count() == 2
    page.select_option("select[name=grid]", "xingfu")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**grid=xingfu**")
    assert page.locator("table.tickets tbody tr").count() == 1
    page.click(f"#t{number} a >> nth=0")
    page.wait_for_url(f"**/console/tickets/{number}")
    assert LEAK in page.locator(".chat").inner_text()  # the resident's message in the conversation
    page.click("form[data-action=confirm] button")
    page.wait_for_selector(".flash.ok")
    assert "已受理" in page.locator("#ticket .state").inner_text()
    page.screenshot(path=str(tmp_path / "console-ticket.png"), full_page=True)

    chat = context.new_page()
    chat.goto(console.url + "/playground?as=zhang&room=demo")
    reply = chat.wait_for_selector(f".row.bot .bubble:has-text('#{number} 已受理')", timeout=10_000)
    assert "已受理" in reply.inner_text()


def test_new_tickets_and_state_changes_appear_without_reloading(console, context):
    first = console.report(LEAK)
    page = context.new_page()
    sign_in(page, console, "wang")
    page.wait_for_selector("#live-status:has-text('实时更新中')")
    page.evaluate("window.__marker = 'same page'")
    second = console.report("小区门口的井盖丢了，晚上很危险", sender="liu", name="刘大爷")
    page.wait_for_selector(f"#t{second}", timeout=10_000)
    assert page.locator("table.tickets tbody tr").first.get_attribute("id") == f"t{second}"
    # someone confirms #first in the chat: its row changes state in place
    console.say(f"确认 {first}", sender="wangfang", name="王芳（网格员）")
    page.wait_for_selector(f"#t{first} .state:has-text('已受理')", timeout=10_000)
    assert page.evaluate("window.__marker") == "same page"


def test_hostile_text_is_shown_as_text(console, context):
    text = "楼上漏水到我家了 <script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"
    number = console.report(text)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, console, "admin")
    assert "<script>" in page.locator(f"#t{number} td.text").inner_text()
    page.goto(f"{console.url}/console/tickets/{number}")
    assert "<img src=x onerror=" in page.locator(".ticket-text").inner_text()
    assert page.locator(".ticket-text img").count() == 0 and page.locator("main script").count() == 0
    assert page.title() != "pwned" and dialogs == []


def test_another_grids_ticket_by_url_is_forbidden(console, context):
    theirs = console.report("安乐家园垃圾桶满了好几天没人清运，味道很大", sender="resident-anle", name="周先生", room="anle")
    page = context.new_page()
    sign_in(page, console, "wang")
    response = page.goto(f"{console.url}/console/tickets/{theirs}")
    assert response.status == 403 and "不在您负责的网格内" in page.inner_text("main")


def test_works_on_a_phone_screen(console, browser, tmp_path):
    console.report(LEAK)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    sign_in(page, console, "admin")
    assert page.evaluate("getComputedStyle(document.querySelector('table.tickets thead')).display") == "none"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # nothing wider than the screen
    page.screenshot(path=str(tmp_path / "console-phone.png"), full_page=True)
    page.goto(console.url + "/console/stats")
    assert page.locator("svg.chart").count() == 1
    phone.close()
