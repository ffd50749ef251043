"""Two console users acting on one ticket at once, over real HTTP (SQLite and PostgreSQL): one is
done, the other's page says the ticket was just handled by someone else and shows its state."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from core import tickets
from core.ticket_states import TicketState

pytestmark = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)

LEAK = "楼上漏水到我家了，天花板都湿了"


def _form(console, client, number: int, action: str, **fields):
    """The action form as the ticket page shows it (its CSRF token and the state it showed), ready to post."""
    page = client.get(f"/console/tickets/{number}").text
    form = re.search(rf'<form[^>]*data-action="{action}".*?</form>', page, re.S).group(0)
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)) | fields
    assert data["seen_state"] == "pending"
    return lambda: client.post(f"/console/tickets/{number}/action", data=data)


def test_two_console_users_acting_at_once_one_is_done_the_other_is_told_it_was_just_handled(console, at_once):
    wang, admin = console.client("wang"), console.client("admin")
    for i in range(5):
        number = console.report(f"{LEAK}（{i}号楼）", sender=f"n{i}", name=f"邻居{i}")
        answers = at_once(_form(console, wang, number, "reject", note="不属于社区管辖"), _form(console, admin, number, "confirm"))
        messages = [parse_qs(urlsplit(r.headers["location"]).query) for r in answers]
        assert all(r.status_code == 303 for r in answers)
        assert sorted("ok" in m for m in messages) == [False, True], messages
        state = TicketState(console.ticket(number).state)
        refused = next(m for m in messages if "ok" not in m)["msg"][0]
        assert refused == f"#{number} 该诉求刚被他人处理，当前状态：{state.label}。"
        from sqlmodel import Session

        with Session(console.runtime.engine) as s:
            assert len([e for e in tickets.events(s, number) if e.from_state == "pending"]) == 1
