"""The API and Open311 hold the console's rules, over real HTTP: a write token acts only as its
account's role may (a volunteer's files and comments nothing), Open311 text is capped like the
API's, and numbers out of range or JSON nested too deep are 4xx, never 500."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from core.models import Ticket, TicketEvent

WELL = "小区门口的井盖丢了，晚上很危险"


def _count(api, model) -> int:
    with Session(api.runtime.engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _open311(api, token: str, **form):
    data = {"service_code": "facilities", "description": WELL, "address_string": "幸福小区东门",
            "api_key": api.tokens[token], **form}
    return api.client().post("/open311/v2/requests.json", data=data)


def test_a_volunteers_write_token_files_and_comments_nothing(api):
    number = api.client("wang").post("/api/tickets", json={"text": WELL, "grid_id": "xingfu-1"}).json()["number"]
    volunteer = api.client("volunteer")
    tickets, events = _count(api, Ticket), _count(api, TicketEvent)
    r = volunteer.post("/api/tickets", json={"text": "三号楼楼道灯坏了好几天", "grid_id": "xingfu-1"})
    assert r.status_code == 403 and "volunteer" in r.json()["detail"]
    for body in ({"text": "已经修好了"}, {"text": "已经修好了", "announce": True}):
        r = volunteer.post(f"/api/tickets/{number}/comments", json=body)
        assert r.status_code == 403, body
    r = volunteer.post(f"/api/tickets/{number}/transition", json={"action": "resolve", "note": "已修好"})
    assert r.status_code == 403
    assert _open311(api, "volunteer").status_code == 403
    assert (_count(api, Ticket), _count(api, TicketEvent)) == (tickets, events)
    assert volunteer.get(f"/api/tickets/{number}").status_code == 200  # reading is what a volunteer may do


def test_a_care_centres_write_token_files_like_a_relay_but_does_not_act(api):
    care = api.client("care")
    r = care.post("/api/tickets", json={"text": "刘大爷家需要买药送药", "on_behalf_of": "刘大爷"})
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    assert care.post(f"/api/tickets/{number}/transition", json={"action": "confirm"}).status_code == 403
    assert care.post(f"/api/tickets/{number}/comments", json={"text": "老人已接到"}).status_code == 403


def test_open311_caps_the_description_like_the_api(api):
    before = _count(api, Ticket)
    r = _open311(api, "wang", description="a" * 900_000)  # 900 KB, as in the report
    assert r.status_code == 400 and "4000" in r.json()[0]["description"]
    r = _open311(api, "wang", description="漏" * 4001)
    assert r.status_code == 400 and r.json()[0]["code"] == 400
    r = _open311(api, "wang", address_string="东门" * 200)
    assert r.status_code == 400 and "location" in r.json()[0]["description"]
    assert _count(api, Ticket) == before
    assert _open311(api, "wang", description="漏" * 4000).status_code == 200


def test_a_merge_into_a_number_out_of_range_is_a_4xx(api):
    wang = api.client("wang")
    number = wang.post("/api/tickets", json={"text": WELL, "grid_id": "xingfu-1"}).json()["number"]
    for into in (2**70, 2**63, 2**31, -1, 0):  # ids are 32-bit INTEGER columns on PostgreSQL
        r = wang.post(f"/api/tickets/{number}/transition", json={"action": "merge", "into": into})
        assert 400 <= r.status_code < 500, (into, r.status_code, r.text)
    # the largest number a ticket could have: simply not found
    r = wang.post(f"/api/tickets/{number}/transition", json={"action": "merge", "into": 2**31 - 1})
    assert r.status_code == 404
    r = wang.get("/api/tickets", params={"cursor": "WzAsIDExODA1OTE2MjA3MTc0MTEzMDM0MjRd"})  # [0, 2**70]
    assert r.status_code == 400
    assert api.client("wang").get(f"/api/tickets/{number}").json()["state"] == "pending"


def test_json_nested_100000_deep_is_a_4xx(api):
    deep = "[" * 100_000 + "]" * 100_000
    wang = api.client("wang")
    for path in ("/api/tickets", "/api/tickets/1/transition", "/api/tickets/1/comments"):
        r = wang.post(path, content=deep, headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500, (path, r.status_code)
    inner = json.dumps({"text": WELL, "grid_id": "xingfu-1"})[:-1] + ', "x": ' + "[" * 900 + "]" * 900 + "}"
    assert wang.post("/api/tickets", content=inner, headers={"content-type": "application/json"}).status_code < 500


big_numbers = st.one_of(st.integers(min_value=-(2**80), max_value=2**80), st.sampled_from([2**63, 2**63 - 1, 2**31, 2**31 - 1, -(2**63) - 1, 0]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=big_numbers, into=big_numbers)
def test_numbers_anywhere_in_the_api_are_never_a_500(api, number, into):
    wang = api.client("wang")
    if wang.get("/api/tickets/1").status_code == 404:  # a pending ticket to merge, made once
        wang.post("/api/tickets", json={"text": WELL, "grid_id": "xingfu-1"})
    responses = [
        wang.post(f"/api/tickets/{number}/transition", json={"action": "merge", "into": into}),
        wang.post("/api/tickets/1/transition", json={"action": "merge", "into": into}),
        wang.get(f"/api/tickets/{number}"),
        wang.get("/api/tickets", params={"limit": number}),
        wang.get("/api/tickets", params={"q": f"#{abs(number)}"}),
        api.client().get(f"/open311/v2/requests/{number}.json", params={"api_key": api.tokens["wang"]}),
        api.client().get("/open311/v2/requests.json", params={"api_key": api.tokens["wang"], "service_request_id": str(number)}),
    ]
    for r in responses:
        assert r.status_code < 500, (r.request.method, r.request.url, r.status_code, r.text[:200])
