"""The console over real HTTP, as a careless or hostile client would use it: a relay's phone
number never reaches the group unmasked, a care centre relays only into its own grids' chats,
and numbers out of range are answered, never a 500."""

from __future__ import annotations

import re

import httpx
from sqlmodel import Session, func, select

from core.models import Ticket

LEAK = "楼上漏水到我家了，天花板都湿了"


def test_a_relay_filed_on_the_console_shows_in_the_group_masked(console):
    care = console.client("care")
    form = care.get("/console/relay")
    r = care.post("/console/relay", data={"chat": "playground:demo", "name": "张大爷", "location": "3栋502",
                                          "phone": "138 0013 8000", "need": "需要买药送药", "csrf": console.csrf(form.text)})
    assert r.status_code == 303 and "/console/tickets/" in r.headers["location"], r.headers["location"]
    number = int(re.search(r"/console/tickets/(\d+)", r.headers["location"]).group(1))
    assert "13800138000" in console.ticket(number).on_behalf_of  # the ticket keeps it for the people handling it
    console.wait_sent("playground:demo", f"#{number}")
    items = httpx.get(console.url + "/playground/api/rooms/demo/messages").json()["items"]
    relay = next(i for i in items if i["kind"] == "in")
    assert relay["text"] == "代办 张大爷 3栋502 138****8000 需要买药送药"  # what the group (and the quote) shows
    assert not any("0013" in i["text"] for i in items)


def test_a_care_centre_cannot_relay_into_another_grids_chat(console):
    care = console.client("care")  # 幸福居家养老服务中心 serves 幸福社区; room anle is 安乐社区's
    form = care.get("/console/relay")
    assert "安乐家园互助群" not in form.text
    r = care.post("/console/relay", data={"chat": "playground:anle", "name": "张大爷", "location": "3栋502",
                                          "need": "需要买药送药", "csrf": console.csrf(form.text)})
    assert r.status_code == 303 and "/console/relay?" in r.headers["location"]
    with Session(console.runtime.engine) as s:
        assert s.exec(select(func.count()).select_from(Ticket)).one() == 0


def test_a_merge_into_a_number_out_of_range_is_answered_not_a_500(console):
    number = console.report(LEAK)
    wang = console.client("wang")
    for into in (str(2**70), str(2**63), "99999999999999999999999999"):
        page = wang.get(f"/console/tickets/{number}")
        r = wang.post(f"/console/tickets/{number}/action",
                      data={"action": "merge", "into": into, "csrf": console.csrf(page.text)})
        assert r.status_code == 303 and "ok=1" not in r.headers["location"], (into, r.status_code)
        assert "msg=" in r.headers["location"]
    assert console.ticket(number).state == "pending"


def test_live_events_refuse_cursors_out_of_range(console):
    admin = console.client("admin")
    r = admin.get("/console/events", params={"after": 2**70})
    assert r.status_code == 422
    with admin.stream("GET", "/console/events", params={"ids": f"1,{2**70},-3,x"}) as r:
        assert r.status_code == 200
        lines = r.iter_lines()
        assert next(lines).startswith("retry:")
        assert ": keep-alive" in lines  # a whole poll went by: the bad ids were ignored, not an error
