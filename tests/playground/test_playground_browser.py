"""The playground in Debian's Chromium: a resident complains and sees a numbered reply; chatter gets none."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.goto(live_server.url + "/playground?as=zhang&room=demo")
    page.wait_for_selector("#status:has-text('已连接')")
    yield page
    context.close()


def _say(page, text):
    page.fill("#text", text)
    page.press("#text", "Enter")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_resident_complaint_gets_a_reply_with_a_ticket_number(page):
    _say(page, "楼上漏水到我家了，天花板都湿了")
    page.wait_for_selector(".row.mine .bubble:has-text('楼上漏水')")
    reply = page.wait_for_selector(".row.bot .bubble", timeout=10_000)
    assert "#1" in reply.inner_text()
    assert page.locator(".row.bot .buttons button").first.inner_text() == "确认"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_good_morning_gets_no_reply(page):
    _say(page, "早上好")
    page.wait_for_selector(".row.mine .bubble:has-text('早上好')")
    _say(page, "查询 1")  # a later message the bot does answer proves the silence was not a delay
    page.wait_for_selector(".row.bot .bubble:has-text('没有找到')", timeout=10_000)
    assert page.locator(".row.bot").count() == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_grid_worker_confirms_with_the_button(page, live_server):
    _say(page, "小区门口路灯坏了，晚上很黑")
    page.wait_for_selector(".row.bot .buttons button")
    page.select_option("#who", "wangfang")
    page.wait_for_selector("#status:has-text('已连接')")
    page.locator(".row.bot .buttons button", has_text="确认").first.click()
    page.wait_for_selector(".row.bot .bubble:has-text('已受理')", timeout=10_000)
    page.screenshot(path=str(live_server_screenshot()))


def live_server_screenshot():
    import tempfile
    from pathlib import Path

    return Path(tempfile.gettempdir()) / "linli-playground.png"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_page_escapes_html_in_messages(page):
    _say(page, "<img src=x onerror=\"document.title='pwned'\"> 早上好")
    page.wait_for_selector(".row.mine .bubble:has-text('<img')")
    assert page.title() != "pwned"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_residents_button_press_is_refused_privately_and_the_card_updates_when_a_worker_confirms(browser, live_server):
    resident = browser.new_context().new_page()
    resident.goto(live_server.url + "/playground?as=zhang&room=demo")
    resident.wait_for_selector("#status:has-text('已连接')")
    neighbour = browser.new_context().new_page()
    neighbour.goto(live_server.url + "/playground?as=liu&room=demo")
    neighbour.wait_for_selector("#status:has-text('已连接')")

    _say(resident, "楼道灯坏了一个星期了，晚上看不见")
    resident.wait_for_selector(".row.bot .buttons button")
    resident.locator(".row.bot .buttons button", has_text="确认").first.click()
    resident.wait_for_selector(".alert", timeout=10_000)  # the refusal, shown to the presser only
    assert resident.locator(".row.bot").count() == 1
    neighbour.wait_for_selector(".row.bot .buttons button")
    assert neighbour.locator(".alert").count() == 0

    worker = browser.new_context().new_page()
    worker.goto(live_server.url + "/playground?as=wangfang&room=demo")
    worker.wait_for_selector(".row.bot .buttons button")
    worker.locator(".row.bot .buttons button", has_text="确认").first.click()
    # The card itself now says 已受理 and has lost its buttons, on every screen.
    card = neighbour.locator(".row.bot").first
    card.locator(".bubble:has-text('已受理')").wait_for(timeout=10_000)
    assert card.locator(".buttons button").count() == 0
    for p in (resident, neighbour, worker):
        p.context.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_emergency_in_the_residents_group_shows_up_in_the_community_staff_room(page):
    labels = page.locator("#room optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert labels == ["居民群", "工作群（网格员、社区、街道）"]
    _say(page, "3栋502着火了，冒烟很大！")
    page.wait_for_selector(".row.bot .bubble:has-text('119')", timeout=10_000)
    page.select_option("#room", "xingfu-staff")
    page.wait_for_selector("#title:has-text('幸福社区工作群')")
    page.wait_for_selector(".row.bot .bubble:has-text('【紧急】#1')", timeout=10_000)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_readme_walk_through_works_from_the_bare_playground_url(browser, live_server):
    """README: as 张阿姨 type 「楼上漏水到我家了」 … 「早上好」 — nothing … switch to 王芳 and press 确认 — 「#1 已受理」."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.goto(live_server.url + "/playground")  # no ?as= or ?room=
    page.wait_for_selector("#status:has-text('已连接')")
    assert page.locator("#who option:checked").inner_text().startswith("张阿姨")
    assert page.locator("#room option:checked").inner_text() == "幸福里3栋邻里群（演示）"
    _say(page, "楼上漏水到我家了")
    reply = page.wait_for_selector(".row.bot .bubble", timeout=10_000)
    assert "编号 #1" in reply.inner_text() and "已转网格员王芳处理" in reply.inner_text()
    _say(page, "早上好")
    page.wait_for_selector(".row.mine .bubble:has-text('早上好')")
    wangfang = page.locator("#who option", has_text="王芳").get_attribute("value")
    page.select_option("#who", wangfang)
    page.wait_for_selector("#status:has-text('已连接')")
    page.locator(".row.bot .buttons button", has_text="确认").first.click()
    page.wait_for_selector(".row.bot .bubble:has-text('#1 已受理')", timeout=10_000)
    assert page.locator(".alert").count() == 0  # no 「无权限」
    assert page.locator(".row.bot").count() == 2  # 早上好 got no answer
    context.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_url_chooses_identity_and_room_and_unknown_values_fall_back(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(live_server.url + "/playground?as=zhaomin&room=anle")
    page.wait_for_selector("#status:has-text('已连接')")
    assert page.locator("#who").input_value() == "zhaomin" and page.locator("#room").input_value() == "anle"
    page.goto(live_server.url + "/playground?as=nobody&room=nowhere")
    page.wait_for_selector("#status:has-text('已连接')")
    assert page.locator("#who").input_value() == "zhang" and page.locator("#room").input_value() == "demo"
    context.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_one_minute_guide_opens_on_a_phone(browser, live_server, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(live_server.url + "/playground")
    page.wait_for_selector("#status:has-text('已连接')")
    assert not page.locator("#guide").is_visible()
    page.click("#guide-toggle")
    assert page.locator("#guide").is_visible() and "切换成本群的网格员" in page.inner_text("#guide")
    assert page.locator("#guide-toggle").get_attribute("aria-expanded") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "playground-phone-guide.png"))
    context.close()
