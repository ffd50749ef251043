"""A refused action's 409 says which actions the caller may do to the ticket now (core.ticket_actions)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_409_lists_the_actions_available_to_the_caller_in_the_tickets_state(api):
    wang = api.client("wang")
    number = wang.post("/api/tickets", json={"text": "小区门口的井盖丢了，晚上很危险", "location": "幸福小区东门"}).json()["number"]
    r = wang.post(f"/api/tickets/{number}/transition", json={"action": "reopen", "note": "还是坏的"})
    assert r.status_code == 409 and r.json()["state"] == "pending"
    assert r.json()["available"] == ["confirm", "reject", "merge", "assign", "progress", "resolve", "reclassify",
                                     "urgency", "refer", "transfer"]
    assert wang.post(f"/api/tickets/{number}/transition", json={"action": "resolve", "note": "已补上"}).status_code == 200
    r = wang.post(f"/api/tickets/{number}/transition", json={"action": "confirm"})
    assert r.status_code == 409 and r.json()["state"] == "resolved" and r.json()["available"] == ["reopen"]


def test_transfer_over_the_api_needs_a_note_and_closes_the_ticket_as_referred(api):
    wang = api.client("wang")
    number = wang.post("/api/tickets", json={"text": "马路对面的路灯坏了", "grid_id": "xingfu-1"}).json()["number"]
    r = wang.post(f"/api/tickets/{number}/transition", json={"action": "transfer"})
    assert r.status_code == 409 and r.json()["code"] == "transfer_needs_note"
    r = wang.post(f"/api/tickets/{number}/transition", json={"action": "transfer", "note": "已转12345热线"})
    assert r.status_code == 200 and r.json()["state"] == "referred" and r.json()["open"] is False
    assert wang.post(f"/api/tickets/{number}/transition", json={"action": "claim"}).status_code == 422  # not an API action
