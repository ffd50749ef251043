"""The JSON API over real HTTP: tokens required, read/write scopes and grid scope enforced, actions announced in the chat."""

from __future__ import annotations

import pytest

LEAK = "楼上漏水到我家了，天花板都湿了"
ANLE = "安乐家园垃圾桶满了好几天没人清运，味道很大"


def test_every_call_needs_a_valid_token(api):
    for path in ("/api/tickets", "/api/tickets/1", "/api/stats", "/api/grids", "/api/me"):
        r = api.client().get(path)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", path
    r = api.client().get("/api/tickets", headers={"Authorization": "Bearer linli_not-a-token"})
    assert r.status_code == 401


def test_read_scope_cannot_write(api):
    reader = api.client("wang-read")
    assert reader.get("/api/me").json()["scopes"] == ["read"]
    r = reader.post("/api/tickets", json={"text": "小区门口的井盖丢了", "grid_id": "xingfu-1"})
    assert r.status_code == 403 and "needs 'write'" in r.json()["detail"]


@pytest.mark.parametrize("database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_create_list_get_transition_and_comment(api):
    wang = api.client("wang")
    r = wang.post("/api/tickets", json={"text": "小区门口的井盖丢了，晚上很危险", "location": "幸福小区东门"})
    assert r.status_code == 201, r.text
    created = r.json()
    number = created["number"]
    assert created["grid_id"] == "xingfu-1" and created["state"] == "pending" and created["resolve_due_at"].endswith("+08:00")
    assert created["events"][0]["kind"] == "created"

    page = wang.get("/api/tickets", params={"state": "pending", "q": "井盖"}).json()
    assert [t["number"] for t in page["items"]] == [number] and page["next_cursor"] is None

    r = wang.post(f"/api/tickets/{number}/transition", json={"action": "confirm"})
    assert r.status_code == 200 and r.json()["state"] == "confirmed"
    r = wang.post(f"/api/tickets/{number}/transition", json={"action": "resolve"})
    assert r.status_code == 409 and r.json()["detail"]  # resolving needs a note; nothing changed
    r = wang.post(f"/api/tickets/{number}/comments", json={"text": "已联系市政所"})
    assert r.status_code == 201 and r.json()["events"][-1]["kind"] == "comment"
    r = wang.post(f"/api/tickets/{number}/transition", json={"action": "resolve", "note": "井盖已补上"})
    assert r.json()["state"] == "resolved" and r.json()["open"] is False
    assert wang.get(f"/api/tickets/{number}").json()["resolved_at"] is not None


def test_paging_with_cursor(api):
    wang = api.client("wang")
    texts = ["小区门口的井盖丢了", "三号楼楼道灯坏了好几天", "五号楼垃圾桶满了没人清运"]
    numbers = [wang.post("/api/tickets", json={"text": t, "grid_id": "xingfu-1"}).json()["number"] for t in texts]
    first = wang.get("/api/tickets", params={"limit": 2, "sort": "oldest"}).json()
    second = wang.get("/api/tickets", params={"limit": 2, "sort": "oldest", "cursor": first["next_cursor"]}).json()
    assert [t["number"] for t in first["items"] + second["items"]] == numbers and second["next_cursor"] is None
    assert wang.get("/api/tickets", params={"cursor": "garbage"}).status_code == 400


def test_a_transition_is_announced_in_the_chat_like_the_command(api):
    api.say(LEAK)
    wang = api.client("wang")
    number = wang.get("/api/tickets", params={"q": "漏水"}).json()["items"][0]["number"]
    assert wang.post(f"/api/tickets/{number}/transition", json={"action": "confirm"}).status_code == 200
    import time

    from sqlmodel import Session, select

    from core.models import OutboxMessage

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with Session(api.runtime.engine) as s:
            texts = [r.payload["text"] for r in s.exec(select(OutboxMessage).where(OutboxMessage.chat_key == "playground:demo",
                                                                                    OutboxMessage.status == "sent"))]
        if any("已受理" in t for t in texts):
            break
        time.sleep(0.05)
    assert any(f"#{number}" in t and "已受理" in t for t in texts)


def test_grid_scope_applies_to_tokens(api):
    api.say(LEAK)
    api.say(ANLE, sender="resident-anle", name="周先生", room="anle")
    admin, wang, zhao = api.client("admin"), api.client("wang"), api.client("zhao")
    all_numbers = {t["number"]: t["grid_id"] for t in admin.get("/api/tickets").json()["items"]}
    assert sorted(all_numbers.values()) == ["anle-1", "xingfu-1"]
    anle = next(n for n, g in all_numbers.items() if g == "anle-1")
    xingfu = next(n for n, g in all_numbers.items() if g == "xingfu-1")
    assert [t["number"] for t in zhao.get("/api/tickets").json()["items"]] == [anle]
    assert zhao.get(f"/api/tickets/{xingfu}").status_code == 403
    assert zhao.post(f"/api/tickets/{xingfu}/transition", json={"action": "confirm"}).status_code == 403
    assert wang.post("/api/tickets", json={"text": "垃圾桶满了", "grid_id": "anle-1"}).status_code == 400
    assert {g["id"] for g in zhao.get("/api/grids").json()} == {"anle-1"}
    assert admin.get("/api/stats", params={"by": "grid", "level": "community"}).json()["total"]["received"] == 2
    assert zhao.get("/api/stats", params={"by": "total"}).json()["total"]["received"] == 1


def test_openapi_documents_the_api_with_bearer_auth(api):
    spec = api.client().get("/openapi.json").json()
    for path in ("/api/tickets", "/api/tickets/{number}", "/api/tickets/{number}/transition", "/api/tickets/{number}/comments",
                 "/api/stats", "/api/grids", "/open311/v2/services.json", "/open311/v2/requests.json"):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert not any(p.startswith("/console") for p in spec["paths"])
    assert api.client().get("/docs").status_code == 200


def test_ticket_numbers_beyond_the_database_range_are_a_clear_4xx(api):
    wang = api.client("wang")
    huge = 2**63
    for method, path in (("get", f"/api/tickets/{huge}"), ("post", f"/api/tickets/{huge}/transition"),
                         ("post", f"/api/tickets/{huge}/comments")):
        r = wang.post(path, json={"action": "confirm", "text": "x"}) if method == "post" else wang.get(path)
        assert r.status_code == 422 and "Traceback" not in r.text, (path, r.status_code)
    r = api.client().get(f"/open311/v2/requests/{huge}.json", params={"api_key": api.tokens["wang"]})
    assert r.status_code == 404
    r = api.client().get("/open311/v2/requests.json", params={"api_key": api.tokens["wang"], "service_request_id": f"{huge},1"})
    assert r.status_code == 200


def test_a_transition_with_arguments_the_action_does_not_take_is_refused_and_changes_nothing(api):
    wang = api.client("wang")
    number = wang.post("/api/tickets", json={"text": "小区门口的井盖丢了，晚上很危险"}).json()["number"]
    r = wang.post(f"/api/tickets/{number}/transition", json={"action": "confirm", "into": 1})
    assert r.status_code == 409 and "into" in r.json()["detail"]
    assert wang.get(f"/api/tickets/{number}").json()["state"] == "pending"


def test_dates_outside_the_calendar_range_are_a_clear_4xx(api):
    wang = api.client("wang")
    for params in ({"created_from": "0001-01-01"}, {"created_to": "9999-12-31"}):
        r = wang.get("/api/tickets", params=params)
        assert 400 <= r.status_code < 500 and "between 1970 and 9998" in r.text, (params, r.status_code, r.text)
