"""Concurrent actions on one ticket, fired at the real app over real sockets (SQLite and PostgreSQL):
exactly one wins, the others get a clear refusal with the current state, the audit trail never
shows two moves out of the same state, and residents hear only the winner."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from bots.commands import action_data
from core import inbox, tickets
from core.message import Message, MessageKind
from core.models import OutboxMessage, Ticket
from core.ticket_states import TicketState

pytestmark = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)

REPEATS = int(os.environ.get("RACE_REPEATS", "10"))
LEAK = "楼上漏水到我家了，天花板都湿了"


@pytest.fixture(autouse=True)
def every_report_is_a_new_ticket(api):
    """The same words again must file a new ticket here, not join the last one as a duplicate."""
    api.runtime.bot.duplicate_window = timedelta(0)


def file_pending(api, text: str = LEAK) -> int:
    """张阿姨 reports in the demo room; the new pending ticket's number."""
    with Session(api.runtime.engine) as s:
        last = s.exec(select(Ticket.id).order_by(Ticket.id.desc())).first() or 0
    r = httpx.post(api.url + "/playground/api/messages", timeout=60,
                   json={"room": "demo", "sender_id": "zhang", "sender_name": "张阿姨", "text": text})
    assert r.status_code == 202, r.text
    with Session(api.runtime.engine) as s:
        ticket = s.exec(select(Ticket).order_by(Ticket.id.desc())).first()
    assert ticket.id > last and TicketState(ticket.state) is TicketState.PENDING
    return ticket.id


def moves_out_of(api, number: int, state: TicketState) -> list[tuple[str, str]]:
    with Session(api.runtime.engine) as s:
        return [(e.actor, e.to_state) for e in tickets.events(s, number) if e.from_state == state.value]


def state_of(api, number: int) -> TicketState:
    with Session(api.runtime.engine) as s:
        return TicketState(s.get(Ticket, number).state)


def last_outbox_id(api) -> int:
    with Session(api.runtime.engine) as s:
        return s.exec(select(OutboxMessage.id).order_by(OutboxMessage.id.desc())).first() or 0


def announcements(api, number: int, after: int) -> list[OutboxMessage]:
    """What the residents' chat was told about the ticket after outbox row ``after`` (card edits aside)."""
    with Session(api.runtime.engine) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.id > after, OutboxMessage.ticket_id == number,
                                                  OutboxMessage.chat_key == "playground:demo")).all()
    return [r for r in rows if not r.dedup_key.endswith(":card")]


def transition(client: httpx.Client, number: int, **body) -> Callable[[], httpx.Response]:
    """The call, made against the state the caller read just before (as a console page or app would)."""
    body.setdefault("expected_state", client.get(f"/api/tickets/{number}").json()["state"])
    return lambda: client.post(f"/api/tickets/{number}/transition", json=body)


def warm(*clients: httpx.Client) -> None:
    """Open each client's connection before the barrier, so the requests leave together."""
    for c in clients:
        assert c.get("/api/me").status_code == 200


def assert_one_won(responses: list[httpx.Response], api, *, losers_came_second: bool = True) -> httpx.Response:
    """Exactly one 2xx; every other answer a 409 naming its ticket's state (the final one, when a
    refusal can only come after the winner's move). Returns the winner."""
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (len(responses) - 1), [(r.status_code, r.text) for r in responses]
    for r in responses:
        if r.status_code == 409:
            body = r.json()
            assert body["state_label"] == TicketState(body["state"]).label, body
            if losers_came_second:
                assert body["state"] == state_of(api, body["number"]).value, body
    return next(r for r in responses if r.status_code == 200)


def test_reject_and_confirm_at_once_one_wins_the_other_gets_409_with_the_state(api, at_once):
    wang, admin = api.client("wang"), api.client("admin")
    warm(wang, admin)
    for _ in range(REPEATS):
        number = file_pending(api)
        before = last_outbox_id(api)
        responses = at_once(transition(wang, number, action="reject", note="不属于社区管辖"),
                            transition(admin, number, action="confirm"))
        winner = assert_one_won(responses, api)
        assert next(r for r in responses if r.status_code == 409).json()["code"] == "ticket_taken"
        assert len(moves_out_of(api, number, TicketState.PENDING)) == 1
        assert state_of(api, number).value == winner.json()["state"]
        told = announcements(api, number, before)
        assert len(told) == 1, [r.payload["text"] for r in told]
        assert winner.json()["state_label"] in told[0].payload["text"]


def test_two_crossed_merges_at_once_do_not_deadlock_and_leave_one_duplicate(api, at_once):
    wang, admin = api.client("wang"), api.client("admin")
    warm(wang, admin)
    for _ in range(REPEATS // 2):
        a = file_pending(api, "三号楼电梯坏了")
        b = file_pending(api, "五号楼垃圾桶满了没人清运")
        responses = at_once(transition(wang, a, action="merge", into=b), transition(admin, b, action="merge", into=a))
        winner = assert_one_won(responses, api)
        assert next(r for r in responses if r.status_code == 409).json()["code"] in ("merge_bad_target", "ticket_taken")
        merged = winner.json()["number"]
        master = b if merged == a else a
        with Session(api.runtime.engine) as s:
            assert TicketState(s.get(Ticket, merged).state) is TicketState.DUPLICATE
            assert s.get(Ticket, merged).master_id == master
            assert TicketState(s.get(Ticket, master).state) is TicketState.PENDING
            assert s.get(Ticket, master).master_id is None


def test_resolve_and_reopen_at_once_never_both_happen(api, at_once):
    wang, admin = api.client("wang"), api.client("admin")
    warm(wang, admin)
    for i in range(REPEATS // 2):
        # another problem each time: the same problem from the same resident after 办结 answers the survey
        thing = ("楼道的灯坏了", "电梯按钮失灵了", "单元门禁刷不开", "垃圾桶满了没人清", "楼下井盖松动了")[i % 5]
        number = file_pending(api, f"{i + 10}栋{thing}")
        for step in ("confirm", "accept"):
            assert wang.post(f"/api/tickets/{number}/transition", json={"action": step}).status_code == 200
        responses = at_once(transition(wang, number, action="resolve", note="已修好"),
                            transition(admin, number, action="reopen", note="居民说还在漏"))
        # reopening an in-progress ticket is never legal: refused before the resolve, or as the loser after it
        winner = assert_one_won(responses, api, losers_came_second=False)
        assert winner.json()["state"] == "resolved"
        assert len(moves_out_of(api, number, TicketState.IN_PROGRESS)) == 1
        assert moves_out_of(api, number, TicketState.RESOLVED) == []


def test_a_survey_answer_and_a_reopen_at_once_reopen_once(api, at_once):
    wang, admin = api.client("wang"), api.client("admin")
    warm(wang, admin)
    for _ in range(REPEATS // 2):
        number = file_pending(api)
        assert wang.post(f"/api/tickets/{number}/transition", json={"action": "resolve", "note": "已修好"}).status_code == 200
        before = last_outbox_id(api)
        pressed, api_reopen = at_once(chat(api, "zhang", data=action_data("rate_bad", number)),
                                      transition(admin, number, action="reopen", note="复查未修好"))
        assert state_of(api, number) is TicketState.IN_PROGRESS
        assert len(moves_out_of(api, number, TicketState.RESOLVED)) == 1
        reopens = [r for r in announcements(api, number, before) if ":reopen:" in r.dedup_key]
        assert len(reopens) == 1, [r.dedup_key for r in reopens]
        if api_reopen.status_code == 409:
            assert api_reopen.json()["state"] == "in_progress"
        else:
            assert api_reopen.status_code == 200
            assert f"#{number} 该诉求刚被他人处理，当前状态：处理中" in refusal_text(api, pressed)


def chat(api, sender: str, *, text: str = "", data: str | None = None) -> Callable[[], int]:
    """A typed message or a button press in the demo room, received now (stored in the running
    service's inbox, as a webhook does) and processed when called; the call returns its inbox id."""
    message = api.runtime.stamped(Message(
        platform="playground", chat_id="demo", message_id=uuid.uuid4().hex, sender_id=sender, sender_name=sender,
        text=text, kind=MessageKind.ACTION if data else MessageKind.MESSAGE, action_data=data))
    with Session(api.runtime.engine) as s:  # claimed for this test: the service's inbox worker leaves it alone
        row, _ = inbox.store(s, message, claim=True)

    def process() -> int:
        api.runtime.process(row.id)
        return row.id

    return process


def refusal_text(api, inbox_id: int) -> str:
    """What the bot answered to one chat message (a refusal has no ticket attached)."""
    with Session(api.runtime.engine) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.inbox_id == inbox_id)).all()
    return "\n".join(r.payload["text"] for r in rows)


def test_a_chat_command_a_button_and_the_api_at_once_one_wins_the_others_are_told(api, at_once):
    admin = api.client("admin")
    warm(admin)
    for _ in range(REPEATS // 2):
        number = file_pending(api)
        before = last_outbox_id(api)
        typed, pressed, called = at_once(
            chat(api, "wangfang", text=f"驳回 {number} 不属于社区管辖"),
            chat(api, "chenshuji", data=action_data("confirm", number)),
            transition(admin, number, action="assign"),
        )
        now = state_of(api, number)
        moved = moves_out_of(api, number, TicketState.PENDING)
        assert len(moved) == 1, moved
        winner = moved[0][0]
        told = announcements(api, number, before)
        assert len(told) == 1, [r.payload["text"] for r in told]
        losers = {"playground:wangfang": typed, "playground:chenshuji": pressed}
        for actor, inbox_id in losers.items():
            if actor != winner:
                text = refusal_text(api, inbox_id)
                assert f"#{number} 该诉求刚被他人处理，当前状态：{now.label}" in text, text
        if winner == "playground:admin":
            assert called.status_code == 200
        else:
            assert called.status_code == 409 and called.json()["state"] == now.value
