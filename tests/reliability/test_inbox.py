"""Inbox guarantees under concurrency and crashes, on SQLite and PostgreSQL:
stored once, processed exactly once, never lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, func, select

from bots.runtime import Runtime
from core import inbox
from core.models import InboxMessage, OutboxMessage, Ticket


def _count(engine, model, *where) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def test_the_same_message_stored_by_eight_threads_at_once_is_one_row_and_one_new(rt, make_message):
    msg = make_message("楼道灯坏了", message_id="same-1")

    def store(_):
        with Session(rt.engine) as s:
            return inbox.store(s, msg)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(store, range(8)))
    assert sum(is_new for _, is_new in results) == 1
    assert len({row.id for row, _ in results}) == 1
    assert _count(rt.engine, InboxMessage) == 1


def test_one_stored_message_processed_by_many_workers_at_once_has_one_effect(rt, make_message):
    with Session(rt.engine) as s:
        row, _ = inbox.store(s, make_message("楼上漏水到我家了"))
    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(lambda _: rt.process(row.id), range(6)))
    assert sum(1 for o in outcomes if o) == 1, outcomes
    assert _count(rt.engine, Ticket) == 1
    assert _count(rt.engine, OutboxMessage) == 1
    with Session(rt.engine) as s:
        assert s.get(InboxMessage, row.id).status == "done"


def test_workers_that_all_claimed_a_message_before_any_applied_it_count_one_attempt(rt, make_message):
    """The interleaving a loaded machine produces in the test above: every worker claims before the
    first one reaches the lock. That is one attempt under way, not one per worker, so the message is
    never given up as if it had crashed the process MAX_ATTEMPTS times; it applies once."""
    with Session(rt.engine) as s:
        rid = inbox.store(s, make_message("楼上漏水到我家了"))[0].id
        claims = [inbox.claim(s, rid) for _ in range(inbox.MAX_ATTEMPTS + 1)]
    assert claims == [1] * (inbox.MAX_ATTEMPTS + 1)
    assert len(rt.process(rid)) == 1
    assert rt.process(rid) is None
    assert _count(rt.engine, Ticket) == 1
    with Session(rt.engine) as s:
        row = s.get(InboxMessage, rid)
        assert row.status == "done" and row.attempts == 1


def test_two_instances_recovering_the_same_backlog_process_each_message_once(rt, settings, make_message):
    with Session(rt.engine) as s:
        ids = [inbox.store(s, make_message(f"第{i}个问题：楼道灯坏了"))[0].id for i in range(30)]
    other = Runtime(settings)
    other.bot.classify, other.bot.duplicate_window = rt.bot.classify, rt.bot.duplicate_window
    try:
        with ThreadPoolExecutor(2) as pool:
            counts = list(pool.map(lambda r: r.recover_inbox(older_than=timedelta(0)), [rt, other]))
    finally:
        other.engine.dispose()
    assert sum(counts) == 30
    assert _count(rt.engine, Ticket) == 30
    assert _count(rt.engine, OutboxMessage) == 30
    assert _count(rt.engine, InboxMessage, InboxMessage.status == "done") == 30
    with Session(rt.engine) as s:
        origins = s.exec(select(Ticket.origin_message_id)).all()
    assert len(set(origins)) == len(ids)


def test_a_crash_inside_the_effects_transaction_leaves_no_effect_and_recovery_applies_it_once(rt, make_message, monkeypatch):
    real_handle = rt.bot.handle

    def die_after_effects(session, message):
        real_handle(session, message)
        session.flush()  # the ticket and its events are written…
        raise SystemExit("killed")  # …and the process dies before the commit

    monkeypatch.setattr(rt.bot, "handle", die_after_effects)
    msg = make_message("小区路灯坏了好几天了")
    try:
        rt.ingest_sync(msg)
    except SystemExit:
        pass
    assert _count(rt.engine, Ticket) == 0 and _count(rt.engine, OutboxMessage) == 0
    with Session(rt.engine) as s:
        [row] = s.exec(select(InboxMessage)).all()
        assert row.status == "processing" and row.attempts == 1  # visibly unfinished
    monkeypatch.setattr(rt.bot, "handle", real_handle)
    assert rt.recover_inbox(older_than=timedelta(0)) == 1
    assert rt.recover_inbox(older_than=timedelta(0)) == 0
    assert _count(rt.engine, Ticket) == 1 and _count(rt.engine, OutboxMessage) == 1
    assert rt.ingest_sync(msg).duplicate  # the platform's retry is acknowledged, not re-applied
    assert _count(rt.engine, Ticket) == 1


def test_a_database_conflict_is_retried_and_the_message_still_applies_once(rt, make_message, monkeypatch):
    real_handle = rt.bot.handle
    calls = []

    def conflict_once(session, message):
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("UPDATE tickets", {}, RuntimeError("deadlock detected"))
        return real_handle(session, message)

    monkeypatch.setattr(rt.bot, "handle", conflict_once)
    result = rt.ingest_sync(make_message("电梯又坏了"))
    assert len(calls) == 2 and len(result.replies) == 1
    assert _count(rt.engine, Ticket) == 1


def test_a_message_that_keeps_hitting_conflicts_stays_stored_for_the_recovery_loop(rt, make_message, monkeypatch):
    def always_conflict(session, message):
        raise sa.exc.OperationalError("SELECT", {}, RuntimeError("could not serialize access"))

    monkeypatch.setattr(rt.bot, "handle", always_conflict)
    result = rt.ingest_sync(make_message("电梯又坏了"))
    with Session(rt.engine) as s:
        row = s.get(InboxMessage, result.inbox_id)
        assert row.status == "received" and "could not serialize" in row.error


def test_a_message_that_kills_the_process_every_time_is_given_up_and_visible(rt, make_message):
    with Session(rt.engine) as s:
        rid = inbox.store(s, make_message("楼道灯坏了"))[0].id
        s.execute(sa.update(InboxMessage).where(InboxMessage.id == rid)
                  .values(status="processing", attempts=inbox.MAX_ATTEMPTS))
        s.commit()
    assert rt.process(rid) == []
    with Session(rt.engine) as s:
        row = s.get(InboxMessage, rid)
        assert row.status == "failed" and f"gave up after {inbox.MAX_ATTEMPTS} attempts" in row.error
    assert _count(rt.engine, Ticket) == 0


def test_a_slow_worker_is_never_overtaken_by_recovery_on_another_instance(rt, settings, make_message, monkeypatch):
    import threading

    real_handle = rt.bot.handle
    entered, go = threading.Event(), threading.Event()

    def slow(session, message):
        entered.set()
        go.wait(10)
        return real_handle(session, message)

    monkeypatch.setattr(rt.bot, "handle", slow)
    with Session(rt.engine) as s:
        rid = inbox.store(s, make_message("楼上漏水到我家了"))[0].id
    other = Runtime(settings)
    other.bot.classify, other.bot.duplicate_window = rt.bot.classify, rt.bot.duplicate_window
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(rt.process, rid)
        assert entered.wait(10)
        # however old the claim looks, the other instance must not apply the message again
        second = pool.submit(other.recover_inbox, timedelta(days=-1))
        go.set()
        outcomes = [first.result(20), second.result(20)]
    other.engine.dispose()
    assert len(outcomes[0]) == 1 and outcomes[1] == 0
    assert _count(rt.engine, Ticket) == 1 and _count(rt.engine, OutboxMessage) == 1


async def test_a_deferred_message_is_acknowledged_once_stored_and_the_inbox_worker_applies_it_once(rt, make_message):
    msg = make_message("楼上漏水到我家了")
    first = await rt.ingest(msg, defer=True)
    assert not first.duplicate and first.replies == []
    assert _count(rt.engine, Ticket) == 0
    with Session(rt.engine) as s:
        assert s.get(InboxMessage, first.inbox_id).status == "received"
    assert (await rt.ingest(msg, defer=True)).duplicate
    assert rt.process_waiting() == 1 and rt.process_waiting() == 0
    assert _count(rt.engine, Ticket) == 1 and _count(rt.engine, OutboxMessage) == 1


async def test_button_presses_are_processed_at_once_even_when_deferring(rt, make_message):
    from core.message import MessageKind

    await rt.ingest(make_message("楼上漏水到我家了"))
    press = make_message("", sender="wangfang", kind=MessageKind.ACTION, action_data="t:confirm:1")
    result = await rt.ingest(press, defer=True)
    assert result.replies  # the caller answers the platform with the outcome


def test_with_inbox_defer_on_a_webhook_answers_at_once_and_the_reply_follows(settings, serve_app, request_classifier):
    import time

    import httpx

    from bots.app import create_app

    app = create_app(settings.model_copy(update={"inbox_defer": True, "run_outbox": True, "outbox_poll_seconds": 0.05}))
    app.state.runtime.bot.classify = request_classifier
    with serve_app(app) as server:
        r = httpx.post(server.url + "/playground/api/messages",
                       json={"room": "demo", "sender_id": "zhang", "text": "楼道灯坏了", "client_id": "deferred-1"})
        assert r.status_code == 202 and r.json()["replies"] == 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # waiting for the background workers, bounded
            items = httpx.get(server.url + "/playground/api/rooms/demo/messages").json()["items"]
            if any(i["kind"] == "bot" for i in items):
                break
            time.sleep(0.05)
        assert [i["kind"] for i in items].count("bot") == 1
