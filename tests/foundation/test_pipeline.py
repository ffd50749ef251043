"""One message through the whole pipeline: inbox → bot → tickets → outbox, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import Session, select

from core.models import Chat, InboxMessage, OutboxMessage, Person, Ticket
from core.ticket_states import TicketState


def _tickets(runtime):
    with Session(runtime.engine) as s:
        return list(s.exec(select(Ticket).order_by(Ticket.id)))


def test_request_becomes_a_pending_ticket_and_the_reply_has_its_number(runtime, make_message):
    result = runtime.ingest_sync(make_message("楼上漏水到我家了，天花板都湿了"))
    [ticket] = _tickets(runtime)
    assert ticket.state is TicketState.PENDING and ticket.grid_id == "xingfu-1"
    [reply] = result.replies
    assert f"#{ticket.id}" in reply.text and ticket.category.spoken in reply.text
    assert reply.chat_id == "demo" and reply.reply_to_message_id == ticket.origin_message_id


def test_chatter_gets_silence_and_no_ticket(runtime, make_message):
    for text in ("早上好", "收到", "谢谢", "哈哈哈", "[强][强]"):
        assert runtime.ingest_sync(make_message(text)).replies == []
    assert _tickets(runtime) == []


def test_the_same_message_twice_is_one_ticket_and_one_reply(runtime, make_message):
    msg = make_message("小区路灯坏了好几天了晚上很黑", message_id="dup-1")
    first = runtime.ingest_sync(msg)
    second = runtime.ingest_sync(msg)
    assert not first.duplicate and second.duplicate and second.replies == []
    assert len(_tickets(runtime)) == 1
    with Session(runtime.engine) as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1


def test_status_query_answers_the_state(runtime, make_message):
    runtime.ingest_sync(make_message("楼道灯坏了，晚上看不见"))
    [ticket] = _tickets(runtime)
    [reply] = runtime.ingest_sync(make_message(f"查询 {ticket.id}", sender="wangfang", name="王芳")).replies  # the grid worker
    assert f"#{ticket.id}" in reply.text and "待确认" in reply.text
    [reply] = runtime.ingest_sync(make_message(f"/status {ticket.id}")).replies
    assert "待确认" in reply.text
    [reply] = runtime.ingest_sync(make_message("查询 9999")).replies
    assert "9999" in reply.text and "没有" in reply.text


def test_unknown_chat_is_recorded_and_ignored(runtime, make_message):
    result = runtime.ingest_sync(make_message("楼上漏水到我家了", room="nobody-knows"))
    assert result.replies == [] and _tickets(runtime) == []
    with Session(runtime.engine) as s:
        chat = s.get(Chat, "playground:nobody-knows")
        assert chat is not None and chat.grid_id is None
        assert s.exec(select(InboxMessage).where(InboxMessage.chat_key == chat.key)).one().status == "ignored"


def test_unknown_person_becomes_a_resident_of_the_chat_grid(runtime, make_message):
    runtime.ingest_sync(make_message("早上好", sender="newcomer", name="新邻居"))
    with Session(runtime.engine) as s:
        person = s.exec(select(Person).where(Person.key == "playground:newcomer")).one()
        assert (person.role, person.grid_id, person.name) == ("resident", "xingfu-1", "新邻居")


def test_only_grid_workers_may_confirm(runtime, make_message):
    runtime.ingest_sync(make_message("楼上漏水到我家了，沟通无效"))
    [ticket] = _tickets(runtime)
    [refusal] = runtime.ingest_sync(make_message(f"确认 {ticket.id}", sender="liu", name="刘大爷")).replies
    assert "网格员" in refusal.text
    assert _tickets(runtime)[0].state is TicketState.PENDING
    replies = runtime.ingest_sync(make_message(f"确认 {ticket.id}", sender="wangfang", name="王芳")).replies
    assert any(f"#{ticket.id}" in r.text for r in replies)
    assert _tickets(runtime)[0].state is TicketState.CONFIRMED


def test_a_crash_in_the_bot_keeps_the_message_visible_as_failed(runtime, make_message, monkeypatch):
    def explode(session, message):
        raise RuntimeError("boom")

    monkeypatch.setattr(runtime.bot, "handle", explode)
    result = runtime.ingest_sync(make_message("楼上漏水到我家了"))
    assert result.replies == []
    with Session(runtime.engine) as s:
        row = s.get(InboxMessage, result.inbox_id)
        assert row.status == "failed" and "boom" in row.error and row.text == "楼上漏水到我家了"


def test_a_message_stored_but_never_processed_is_processed_once_on_recovery(runtime, make_message):
    from core import inbox

    msg = make_message("楼道里垃圾三天没人清运了，很臭")
    with Session(runtime.engine) as s:
        inbox.store(s, msg)  # the process "dies" here, before processing
    from datetime import timedelta

    assert runtime.recover_inbox(older_than=timedelta(0)) == 1
    assert runtime.recover_inbox(older_than=timedelta(0)) == 0
    assert len(_tickets(runtime)) == 1
