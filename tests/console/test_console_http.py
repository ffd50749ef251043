"""The console over real HTTP: sign-in, CSRF, scope, escaping, actions announced in the chat, exports, relays, live events."""

from __future__ import annotations

import csv
import io
import json
import re

import httpx
import pytest
from sqlmodel import Session, select

from core import db, outbox
from core.message import OutgoingReply
from core.models import Ticket, TicketEvent
from core.ticket_states import TicketState

LEAK = "楼上漏水到我家了，天花板都湿了"

# The pages run the queries of core/search.py and core/stats.py, which
# tests/console/test_search_and_stats.py runs on SQLite and PostgreSQL; the pages themselves on SQLite.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_pages_need_sign_in_and_wrong_passwords_are_refused(console):
    anonymous = console.client()
    r = anonymous.get("/console/tickets")
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next=")
    login = anonymous.get("/console/login")
    r = anonymous.post("/console/login", data={"username": "wang", "password": "nope nope", "csrf": console.csrf(login.text)})
    assert r.status_code == 303 and "error=" in r.headers["location"]
    assert anonymous.get("/console/tickets").status_code == 303


def test_logout_ends_the_session_on_the_server(console):
    wang = console.client("wang")
    page = wang.get("/console/tickets")
    assert page.status_code == 200
    cookie = wang.cookies.get("linli_session")
    assert wang.post("/console/logout", data={"csrf": console.csrf(page.text)}).status_code == 303
    stolen = httpx.Client(base_url=console.url, cookies={"linli_session": cookie})
    assert stolen.get("/console/tickets").status_code == 303  # the old cookie no longer works


def test_post_without_csrf_token_is_refused_and_changes_nothing(console):
    number = console.report(LEAK)
    wang = console.client("wang")
    for data in ({"action": "confirm"}, {"action": "confirm", "csrf": "forged"}):
        r = wang.post(f"/console/tickets/{number}/action", data=data)
        assert r.status_code == 403
    assert console.ticket(number).state == TicketState.PENDING
    anonymous = console.client()
    r = anonymous.post("/console/login", data={"username": "wang", "password": "correct horse battery"})
    assert r.status_code == 403  # the login form is protected too


def test_grid_worker_gets_403_for_another_grids_ticket_by_url(console):
    mine = console.report(LEAK)
    theirs = console.report("安乐家园垃圾桶满了好几天没人清运，味道很大", sender="resident-anle", name="周先生", room="anle")
    wang = console.client("wang")
    assert wang.get(f"/console/tickets/{mine}").status_code == 200
    r = wang.get(f"/console/tickets/{theirs}")
    assert r.status_code == 403 and "不在您负责的网格内" in r.text
    listed = wang.get("/console/tickets").text
    assert f"#{mine}<" in listed and f"#{theirs}<" not in listed
    assert wang.post(f"/console/tickets/{theirs}/action", data={"action": "confirm", "csrf": console.csrf(listed)}).status_code == 403
    assert console.client("admin").get(f"/console/tickets/{theirs}").status_code == 200


def test_user_text_is_escaped_everywhere(console):
    text = "楼上漏水到我家了 <script>document.title='pwned'</script><img src=x onerror=alert(1)>"
    number = console.report(text)
    admin = console.client("admin")
    for path in ("/console/tickets", f"/console/tickets/{number}"):
        html = admin.get(path).text
        assert "<script>document.title" not in html and "<img src=x" not in html
        assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_confirm_in_the_console_is_announced_in_the_chat(console):
    number = console.report(LEAK)
    wang = console.client("wang")
    page = wang.get(f"/console/tickets/{number}")
    assert 'data-action="confirm"' in page.text and LEAK in page.text  # the conversation is shown
    r = wang.post(f"/console/tickets/{number}/action", data={"action": "confirm", "csrf": console.csrf(page.text)})
    assert r.status_code == 303 and "ok=1" in r.headers["location"]
    ticket = console.ticket(number)
    assert ticket.state == TicketState.CONFIRMED
    assert f"#{number}" in console.wait_sent("playground:demo", "已受理")
    with Session(console.runtime.engine) as s:
        event = s.exec(select(TicketEvent).where(TicketEvent.ticket_id == number, TicketEvent.to_state == "confirmed")).one()
    assert event.actor == "playground:wangfang"
    shown = wang.get(f"/console/tickets/{number}").text
    assert "已受理" in shown and "邻里助手" in shown  # the bot's announcement appears in the conversation


def test_a_refused_action_explains_why_and_changes_nothing(console):
    number = console.report(LEAK)
    wang = console.client("wang")
    page = wang.get(f"/console/tickets/{number}")
    r = wang.post(f"/console/tickets/{number}/action", data={"action": "resolve", "note": "", "csrf": console.csrf(page.text)})
    assert r.status_code == 303 and "ok=1" not in r.headers["location"] and "msg=" in r.headers["location"]
    assert console.ticket(number).state == TicketState.PENDING


def test_ticket_list_filters_search_and_pages(console):
    problems = [LEAK, "小区门口的井盖丢了，晚上很危险", "三号楼的楼道灯坏了好几天了"]
    made = [console.report(text, sender=f"n{i}", name=f"邻居{i}") for i, text in enumerate(problems)]
    admin = console.client("admin")
    numbers = lambda html: [int(n) for n in re.findall(r'<tr id="t(\d+)"', html)]  # noqa: E731
    assert numbers(admin.get("/console/tickets").text) == made[::-1]
    assert numbers(admin.get("/console/tickets", params={"q": "井盖"}).text) == [made[1]]
    assert numbers(admin.get("/console/tickets", params={"q": f"#{made[2]}"}).text) == [made[2]]
    assert numbers(admin.get("/console/tickets", params={"state": "closed"}).text) == []
    assert numbers(admin.get("/console/tickets", params={"grid": "anle"}).text) == []
    assert numbers(admin.get("/console/tickets", params={"grid": "xingfu", "sort": "oldest"}).text) == made
    bad = admin.get("/console/tickets", params={"from": "yesterday"})
    assert bad.status_code == 200 and "from must be a date" in bad.text


def test_csv_exports_follow_the_scope(console):
    console.report(LEAK)
    console.report("安乐家园垃圾桶满了好几天没人清运，味道很大", sender="resident-anle", name="周先生", room="anle")
    rows = lambda r: list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))  # noqa: E731
    admin_rows = rows(console.client("admin").get("/console/tickets.csv"))
    zhao_rows = rows(console.client("zhao").get("/console/tickets.csv"))
    assert len(admin_rows) == 2 and len(zhao_rows) == 1 and zhao_rows[0]["grid"] == "安乐社区第一网格"
    stats = rows(console.client("admin").get("/console/stats.csv", params={"by": "grid", "level": "community"}))
    assert {r["key"]: int(r["received"]) for r in stats} == {"xingfu": 1, "anle": 1, "total": 2}


def test_csv_export_defuses_spreadsheet_formulas(console):
    number = console.report("=HYPERLINK(\"http://evil\") 楼上漏水到我家了")
    out = console.client("admin").get("/console/tickets.csv").text
    assert f"{number},pending" in out and "'=HYPERLINK" in out


def test_statistics_page_draws_svg_charts(console):
    console.report(LEAK)
    html = console.client("admin").get("/console/stats", params={"by": "day"}).text
    assert "<svg" in html and "<rect" in html and "办结率" in html


def test_only_admins_create_accounts(console):
    wang = console.client("wang")
    assert wang.get("/console/accounts").status_code == 403
    page = wang.get("/console/tickets")
    assert wang.post("/console/accounts", data={"username": "x", "person": "playground:liqiang", "password": "12345678",
                                                "csrf": console.csrf(page.text)}).status_code == 403
    admin = console.client("admin")
    page = admin.get("/console/accounts")
    r = admin.post("/console/accounts", data={"username": "li", "person": "playground:liqiang", "password": "li-password-1",
                                              "csrf": console.csrf(page.text)})
    assert "ok=1" in r.headers["location"]
    li = httpx.Client(base_url=console.url)
    login = li.get("/console/login")
    r = li.post("/console/login", data={"username": "li", "password": "li-password-1", "csrf": console.csrf(login.text)})
    assert r.status_code == 303 and r.headers["location"] == "/console/tickets"


def test_care_centre_relay_files_for_an_elder_and_tells_the_group(console):
    care = console.client("care")
    form = care.get("/console/relay")
    assert "幸福里3栋邻里群" in form.text
    r = care.post("/console/relay", data={"chat": "playground:demo", "name": "张大爷", "location": "3栋502", "phone": "13800138000",
                                          "need": "需要买药送药", "csrf": console.csrf(form.text)})
    assert r.status_code == 303 and "/console/tickets/" in r.headers["location"], r.headers["location"]
    number = int(re.search(r"/console/tickets/(\d+)", r.headers["location"]).group(1))
    ticket = console.ticket(number)
    assert ticket.on_behalf_of.startswith("张大爷") and ticket.location == "3栋502"
    announced = console.wait_sent("playground:demo", f"#{number}")
    assert "张大爷" in announced and "13800138000" not in announced  # the phone number is masked in the group


def test_failed_deliveries_are_listed_with_their_reason(console):
    with db.session_scope(console.runtime.engine) as s:
        row = outbox.enqueue(s, OutgoingReply(platform="playground", chat_id="demo", text="测试消息"), dedup_key="t:failed")
        s.flush()
        row.status, row.last_error = "failed", "chat not found (403 from the platform)"
    html = console.client("wang").get("/console/outbox").text
    assert "chat not found (403 from the platform)" in html and "测试消息" in html
    assert "chat not found" not in console.client("zhao").get("/console/outbox").text  # another grid's chat


def test_live_events_announce_new_tickets_and_state_changes(console):
    wang = console.client("wang")
    with wang.stream("GET", "/console/events", params={"after": 0}, timeout=15) as stream:
        number = console.report(LEAK)
        events = []
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                if any(e["id"] == number and e["type"] == "new" for e in events):
                    break
    new = next(e for e in events if e["id"] == number)
    assert new["state"] == "pending" and new["colour"] in ("green", "blue", "yellow", "red")
    assert new["text"].startswith("楼上漏水")


def test_overdue_tickets_are_red_and_the_overdue_filter_finds_them(console):
    from datetime import timedelta

    from core.models import utcnow

    late, fresh = console.report(LEAK), console.report("小区门口的井盖丢了，晚上很危险", sender="liu", name="刘大爷")
    with db.session_scope(console.runtime.engine) as s:
        ticket = s.get(Ticket, late)
        ticket.resolve_due_at = utcnow() - timedelta(hours=1)
        s.add(ticket)
    admin = console.client("admin")
    html = admin.get("/console/tickets").text
    assert f'<tr id="t{late}" class="c-red">' in html and f'<tr id="t{fresh}" class="c-green">' in html
    overdue = admin.get("/console/tickets", params={"overdue": "1"}).text
    assert f'id="t{late}"' in overdue and f'id="t{fresh}"' not in overdue
