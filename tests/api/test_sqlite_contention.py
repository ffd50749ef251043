"""SQLite under write contention: a request that cannot get the write lock within the busy timeout
is answered 503 with Retry-After and changes nothing — never a 500 ("database is locked")."""

from __future__ import annotations

import sqlite3

import pytest
from sqlmodel import Session

from core.db import make_engine
from core.models import Ticket
from core.ticket_states import TicketState

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
BUSY_TIMEOUT = 0.3


@pytest.fixture
def api_engine(settings):
    engine = make_engine(settings.resolved_database_url, busy_timeout=BUSY_TIMEOUT)
    yield engine
    engine.dispose()


def test_a_transition_that_cannot_get_the_write_lock_in_time_is_a_503_and_changes_nothing(api):
    wang = api.client("wang")
    number = wang.post("/api/tickets", json={"text": "小区门口的井盖丢了，晚上很危险"}).json()["number"]
    path = api.runtime.engine.url.database
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing for longer than the busy timeout
    try:
        r = wang.post(f"/api/tickets/{number}/transition", json={"action": "confirm"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "1" and "try again" in r.json()["detail"]
    with Session(api.runtime.engine) as s:
        assert TicketState(s.get(Ticket, number).state) is TicketState.PENDING
    r = wang.post(f"/api/tickets/{number}/transition", json={"action": "confirm"})
    assert r.status_code == 200 and r.json()["state"] == "confirmed"
