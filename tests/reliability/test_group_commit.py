"""Deferred acceptance with group commit: concurrent requests share one insert and one commit,
each is answered only once its message is committed, duplicates are still reported."""

from __future__ import annotations

import asyncio

from sqlmodel import Session, func, select

from core import inbox
from core.models import InboxMessage


def _stored(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(InboxMessage)).one()


async def test_concurrent_accepts_are_committed_together_and_each_is_durable_when_answered(runtime, make_message):
    messages = [make_message(f"第{i}件事：楼道灯坏了") for i in range(30)]
    batches = []
    store_batch = runtime._store_batch
    runtime._store_batch = lambda ms: batches.append(len(ms)) or store_batch(ms)

    async def accept_and_check(message):
        result = await runtime.ingest(message, defer=True)
        with Session(runtime.engine) as s:  # committed before the caller could answer the platform
            assert s.get(InboxMessage, result.inbox_id).dedup_key == inbox.dedup_key(message)
        return result

    results = await asyncio.gather(*(accept_and_check(m) for m in messages))
    assert not any(r.duplicate for r in results)
    assert len({r.inbox_id for r in results}) == 30 and _stored(runtime.engine) == 30
    assert len(batches) < 30  # requests arriving during a commit joined the next one


async def test_duplicates_within_one_batch_and_across_batches_are_reported(runtime, make_message):
    first, second = make_message("电梯坏了"), make_message("水管爆了")
    results = await asyncio.gather(*(runtime.ingest(m, defer=True) for m in (first, first, second, first)))
    assert [r.duplicate for r in results] == [False, True, False, True]
    assert results[0].inbox_id == results[1].inbox_id == results[3].inbox_id != results[2].inbox_id
    again = await runtime.ingest(second, defer=True)
    assert again.duplicate and again.inbox_id == results[2].inbox_id
    assert _stored(runtime.engine) == 2
    assert runtime.process_waiting() == 2 and runtime.process_waiting() == 0


async def test_a_failed_batch_fails_every_request_in_it_and_stores_nothing(runtime, make_message):
    def broken(messages):
        raise RuntimeError("disk full")

    runtime._store_batch = broken
    results = await asyncio.gather(*(runtime.ingest(make_message(f"事{i}"), defer=True) for i in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert _stored(runtime.engine) == 0
