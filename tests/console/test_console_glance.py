"""Colours at a glance, in Debian's Chromium: counts by colour for the viewer's scope, tinted rows, the
escalation column and the audit trail in Chinese, a ticket's linked messages only, and a grid worker's phone."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from bots.console.colours import colour_of
from core import db
from core.models import OutboxMessage, Ticket, utcnow
from core.timefmt import duration

pytestmark = pytest.mark.browser

LEAK = "楼上漏水到我家了，天花板都湿了"
# Four problems in 幸福社区第一网格 (room demo, 王芳's) by four residents, and one in 安乐 (room anle).
XINGFU = [("楼上漏水到我家了，天花板都湿了", "zhang", "张阿姨"), ("小区门口的井盖丢了，晚上很危险", "liu", "刘大爷"),
          ("3号楼电梯坏了三天了，老人上不去楼", "sun", "孙奶奶"), ("垃圾房门口堆满了装修垃圾，没人清运", "qian", "钱先生")]
ANLE = "安乐家园垃圾桶满了好几天没人清运，味道很大"


def sign_in(page, console, username: str) -> None:
    console.sign_in(page, username)


def paint(console, number: int, colour: str) -> None:
    """Move a ticket's deadline so that it shows ``colour`` now: the middle of the longest run of half-hour
    deadlines that give that colour (far from the edges, so the seconds a test takes cannot change it)."""
    actions = console.runtime.bot.actions
    now = utcnow()
    with db.session_scope(console.runtime.engine) as s:
        ticket = s.get(Ticket, number)
        runs, run = [], []
        for step in range(-8, 24 * 2 * 40):
            ticket.resolve_due_at = now + timedelta(minutes=30 * step)
            if colour_of(ticket, now, actions) == colour:
                run.append(ticket.resolve_due_at)
            elif run:
                runs.append(run)
                run = []
        runs.append(run)
        best = max(runs, key=len)
        assert best, f"no deadline makes #{number} {colour}"
        ticket.resolve_due_at = best[len(best) // 2]
        ticket.created_at = min(ticket.created_at, ticket.resolve_due_at - timedelta(days=1))
        s.add(ticket)


@pytest.fixture
def five(console):
    """Four tickets in room demo painted green/blue/yellow/red (the red one swept, so escalated) and a red one in anle."""
    numbers = [console.report(text, sender=sender, name=name) for text, sender, name in XINGFU]
    anle = console.report(ANLE, sender="resident-anle", name="周先生", room="anle")
    for number, colour in zip(numbers, ["green", "blue", "yellow", "red"], strict=True):
        paint(console, number, colour)
    paint(console, anle, "red")
    console.runtime.sweeper.run_once(utcnow())  # the red ones are escalated and their staff told, as in production
    return numbers, anle


@pytest.fixture
def desk(browser):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    yield ctx
    ctx.close()


@pytest.fixture
def phone(browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN")
    yield ctx
    ctx.close()


def counts(page) -> dict[str, int]:
    return {c: int(page.locator(f"#colours .colour-total [data-colour={c}] b").inner_text()) for c in ("green", "blue", "yellow", "red")}


def grid_row(page, grid: str) -> list[int]:
    return [int(x) for x in page.locator(f"#colours tr[data-grid='{grid}'] td").all_inner_texts()]


def test_the_list_counts_open_tickets_by_colour_in_the_viewers_scope_and_per_grid_level(console, five, desk, tmp_path):
    (green, blue, yellow, red), anle = five
    page = desk.new_page()
    sign_in(page, console, "admin")
    assert counts(page) == {"green": 1, "blue": 1, "yellow": 1, "red": 2}
    # the district sees its street and each community: green, blue, yellow, red, open
    assert grid_row(page, "heping") == [1, 1, 1, 2, 5]
    assert grid_row(page, "xingfu") == [1, 1, 1, 1, 4]
    assert grid_row(page, "anle") == [0, 0, 0, 1, 1]
    # rows are tinted by colour, and the escalation column says how far up in Chinese
    tint = page.evaluate(f"getComputedStyle(document.getElementById('t{red}')).backgroundColor")
    assert tint == "rgb(253, 238, 237)"
    assert page.evaluate(f"getComputedStyle(document.getElementById('t{green}')).backgroundColor") != tint
    assert page.locator(f"#t{red} td.escalation").inner_text() == "社区"
    assert page.locator(f"#t{green} td.escalation").inner_text() == "—"
    assert "street" not in page.inner_text("table.tickets") and "community" not in page.inner_text("table.tickets")
    page.screenshot(path=str(tmp_path / "console-desk.png"))

    worker = desk.new_page()
    sign_in(worker, console, "wang")  # 王芳: her grid only, no other grid's red ticket, no per-grid table
    assert counts(worker) == {"green": 1, "blue": 1, "yellow": 1, "red": 1}
    assert worker.locator("#colours table.colour-grid").count() == 0


def test_the_audit_trail_reads_as_plain_chinese(console, five, desk):
    (_, _, _, red), _ = five
    page = desk.new_page()
    sign_in(page, console, "wang")
    page.goto(f"{console.url}/console/tickets/{red}")
    page.click("form[data-action=confirm] button")
    page.wait_for_selector(".flash.ok")
    trail = page.inner_text(".timeline")
    assert "系统：超时督办（红灯），已上报社区" in trail
    assert "王芳（网格员）：受理（待确认 → 已受理）" in trail
    assert "钱先生：登记诉求（待确认）" in trail
    for raw in ("system", "sla", "red", "escalate", "transition", "community", "created"):
        assert raw not in trail, raw
    facts = page.inner_text(".facts")
    assert "已上报至\n社区" in facts or "已上报至\t社区" in facts


def reply_to_bot(console, message_id: str, text: str, *, sender: str, name: str) -> None:
    """Someone answers one of the bot's messages in room demo (quoting it, as a chat app does)."""
    r = httpx.post(console.url + "/playground/api/messages",
                   json={"room": "demo", "sender_id": sender, "sender_name": name, "text": text, "reply_to": message_id}, timeout=60)
    assert r.status_code == 202, r.text


def test_a_tickets_chat_record_shows_only_the_messages_linked_to_it(console, desk):
    number = console.report(LEAK)
    console.say("早上好，今天菜市场的青菜真便宜")  # the same resident, about something else
    other = console.report("小区门口路灯坏了，晚上很黑")  # and another problem of hers
    console.wait_sent("playground:demo", f"编号 #{number}")
    with Session(console.runtime.engine) as s:
        card = s.exec(select(OutboxMessage).where(OutboxMessage.ticket_id == number).order_by(OutboxMessage.id)).first()
    reply_to_bot(console, card.platform_message_id, "水已经流到楼下电表箱了", sender="zhang", name="张阿姨")  # info added
    reply_to_bot(console, card.platform_message_id, "谢谢", sender="liu", name="刘大爷")  # a reply the bot leaves unanswered
    console.say("刘大爷的孙子考上大学了", sender="liu", name="刘大爷")
    page = desk.new_page()
    sign_in(page, console, "admin")
    page.goto(f"{console.url}/console/tickets/{number}")
    chat = page.inner_text(".chat")
    assert LEAK in chat and "水已经流到楼下电表箱了" in chat and "谢谢" in chat
    assert f"编号 #{number}" in chat and f"已补充到 #{number}" in chat  # the bot's answers about it
    for unrelated in ("菜市场", "路灯坏了", "考上大学"):
        assert unrelated not in chat, unrelated
    page.goto(f"{console.url}/console/tickets/{other}")
    assert "路灯坏了" in page.inner_text(".chat") and LEAK not in page.inner_text(".chat")


def test_durations_are_said_in_the_unit_that_fits():
    assert [duration(s) for s in (None, 12, 180, 3 * 3600 + 1800, 30 * 3600, 5 * 86400)] == [
        "—", "12 秒", "3 分钟", "3.5 小时", "30 小时", "5.0 天"]


def test_median_confirmation_time_of_minutes_is_shown_in_minutes(console, desk):
    number = console.report(LEAK)
    console.say(f"确认 {number}", sender="wangfang", name="王芳（网格员）")
    with db.session_scope(console.runtime.engine) as s:
        t = s.get(Ticket, number)
        t.confirmed_at = t.created_at + timedelta(minutes=3)
        s.add(t)
    page = desk.new_page()
    sign_in(page, console, "admin")
    page.goto(console.url + "/console/stats")
    kpi = page.locator(".kpis div", has_text="受理用时中位数").locator("b").inner_text()
    assert kpi == "3 分钟"
    assert "0.0 小时" not in page.inner_text("main")


def test_a_grid_worker_on_a_phone_gets_cards_folded_filters_and_a_scrolling_stats_table(console, five, phone, tmp_path):
    (green, blue, yellow, red), _ = five
    page = phone.new_page()
    sign_in(page, console, "wang")
    width = 390
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the screen
    # filters are folded behind a button until asked for
    assert not page.locator("#filters").is_visible()
    page.click("#filters-toggle")
    assert page.locator("#filters").is_visible() and page.locator("#filters-toggle").get_attribute("aria-expanded") == "true"
    page.click("#filters-toggle")
    assert not page.locator("#filters").is_visible()
    # one card per ticket: number, colour, state, summary and deadline; the rest is hidden
    card = page.locator(f"#t{red}")
    assert page.evaluate(f"getComputedStyle(document.getElementById('t{red}')).display") == "grid"
    for part in ("td.number", "td.status", "td.text", "td.due"):
        assert card.locator(part).is_visible(), part
    for part in ("td.category", "td.grid", "td.urgency", "td.created"):
        assert not card.locator(part).is_visible(), part
    assert "红灯督办" in card.inner_text() and "应办结" in card.inner_text() and "已上报社区" in card.inner_text()
    assert not page.locator(f"#t{green} td.escalation").is_visible()
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["height"] < 200  # compact
    text_link = card.locator("td.text a").bounding_box()
    assert text_link["height"] >= 30 and text_link["width"] > 250  # an easy thumb target
    page.screenshot(path=str(tmp_path / "console-phone.png"))  # looked at by hand when the layout changes

    card.locator("td.text a").click()  # a tap on the card's text opens the ticket, which fits the screen too
    page.wait_for_url(f"**/console/tickets/{red}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(tmp_path / "console-phone-ticket.png"), full_page=True)

    page.goto(console.url + "/console/stats?by=grid")
    assert not page.locator("#filters").is_visible() and page.locator("#filters-toggle").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    wrap = page.locator(".table-wrap").last
    assert wrap.evaluate("w => w.scrollWidth > w.clientWidth")  # the table scrolls sideways instead of squeezing
    assert wrap.evaluate("w => getComputedStyle(w).overflowX") == "auto"
    header_heights = page.locator("table.stats thead th").evaluate_all("ths => ths.map(th => th.getBoundingClientRect().height)")
    assert max(header_heights) < 40  # each heading on one line, not one character per line
    page.screenshot(path=str(tmp_path / "console-phone-stats.png"))
