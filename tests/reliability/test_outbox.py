"""Outbox guarantees: every reply delivered exactly once through a failing platform, rate limits
held across instances, retries with backoff, and finally-failed rows that say why."""

from __future__ import annotations

from collections import Counter

from sqlmodel import Session, select

from adapters.base import ChannelAdapter, DeliveryError, RateLimit
from bots import metrics
from bots.runtime import Runtime
from core import outbox
from core.message import OutgoingReply
from core.models import OutboxMessage


def _rows(engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def _queue(engine, clock, chat: str, n: int, platform: str = "playground") -> None:
    with Session(engine) as s:
        for i in range(n):
            outbox.enqueue(s, OutgoingReply(platform=platform, chat_id=chat, text=f"{chat} reply {i}"),
                           dedup_key=f"{chat}:{i}", at=clock())
        s.commit()


class Refusing(ChannelAdapter):
    """A platform that answers every send with the same error."""

    platform = "playground"

    def __init__(self, error: DeliveryError):
        self.error = error

    async def deliver(self, reply):
        raise self.error


async def test_every_reply_is_delivered_once_through_a_platform_failing_30_percent_with_limits_across_two_instances(
    rt, settings, clock, platform_api, http_adapter, make_message, deliver_everything,
):
    limits = RateLimit(per_chat_per_minute=30, global_per_second=3)
    fake, url = platform_api(failure_rate=0.3)
    other = Runtime(settings, clock=clock)
    instances = [rt, other]
    rt.clock = clock
    for instance in instances:
        instance.register(http_adapter("playground", url, limits))
    for i in range(40):
        for room, sender in (("demo", "zhang"), ("anle", f"neighbour{i % 7}")):
            assert rt.ingest_sync(make_message(f"{room} 第{i}件事", room=room, sender=sender)).replies
    try:
        report = await deliver_everything(instances, clock, fake, limits, max_rounds=1200)  # 20 fake minutes at most
    finally:
        for instance in instances:
            for adapter in instance.adapters.values():
                await adapter.stop()
        other.engine.dispose()
    assert report.problems == [] and report.replies == report.sent == 80
    assert report.calls["500"] and report.calls["429"] and report.calls["timeout"]  # every failure kind happened


def test_a_busy_chat_is_deferred_without_starving_the_others(engine, clock):
    _queue(engine, clock, "busy", 50)
    _queue(engine, clock, "quiet", 1)
    limits = {"playground": RateLimit(per_chat_per_minute=5)}
    with Session(engine) as s:
        claimed = outbox.claim_due(s, limit=20, now=clock(), limits=limits)
    assert Counter(r.chat_key for r in claimed) == {"playground:busy": 5, "playground:quiet": 1}
    with Session(engine) as s:
        for row in claimed:
            outbox.mark_sent(s, row, now=clock())
        assert outbox.claim_due(s, now=clock(), limits=limits) == []  # the minute's budget is spent
        deferred = s.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
        assert {r.attempts for r in deferred} == {0}  # waiting for the limit is not a failed attempt
        clock.advance(61)
        assert len(outbox.claim_due(s, now=clock(), limits=limits)) == 5


async def test_a_refused_reply_is_failed_at_once_with_the_reason_and_counted(rt, clock):
    rt.clock = clock
    rt.register(Refusing(DeliveryError("chat not found (403)", retryable=False)))
    _queue(rt.engine, clock, "demo", 1)
    before = metrics.DELIVERIES.get(platform="playground", result="failed")
    assert await rt.deliver_due() == 0
    [row] = _rows(rt.engine)
    assert row.status == "failed" and row.last_error == "refused: chat not found (403)" and row.attempts == 1
    assert metrics.DELIVERIES.get(platform="playground", result="failed") == before + 1
    assert 'linli_outbox_messages{platform="playground",status="failed"} 1' in metrics.render(rt.engine)


async def test_a_failing_platform_is_retried_with_growing_backoff_then_given_up(rt, clock):
    rt.clock = clock
    rt.register(Refusing(DeliveryError("HTTP 502", retryable=True)))
    _queue(rt.engine, clock, "demo", 1)
    waits = []
    for _ in range(outbox.MAX_ATTEMPTS):
        await rt.deliver_due()
        [row] = _rows(rt.engine)
        waits.append((row.next_attempt_at - clock()).total_seconds())
        clock.advance(waits[-1] + 0.001)
    [row] = _rows(rt.engine)
    assert row.status == "failed" and row.last_error == "gave up: HTTP 502" and row.attempts == outbox.MAX_ATTEMPTS
    assert all(1 <= w / 2 ** i <= 1.25 for i, w in enumerate(waits[:-1])), waits  # 1, 2, 4 … s plus jitter


async def test_a_rate_limited_answer_waits_as_told_and_uses_no_attempt(rt, clock):
    rt.clock = clock
    rt.register(Refusing(DeliveryError("429 too many requests", retryable=True, retry_after=7)))
    _queue(rt.engine, clock, "demo", 1)
    for _ in range(outbox.MAX_ATTEMPTS + 2):
        await rt.deliver_due()
        clock.advance(7)
    [row] = _rows(rt.engine)
    assert row.status == "pending" and row.attempts == 0 and "429" in row.last_error


def test_a_sender_whose_lease_ended_cannot_overwrite_the_new_claim(engine, clock):
    _queue(engine, clock, "demo", 1)
    with Session(engine, expire_on_commit=False) as first, Session(engine, expire_on_commit=False) as second:
        [stale] = outbox.claim_due(first, now=clock())
        clock.advance(outbox.LEASE.total_seconds() + 1)  # the first sender hung past its lease
        [fresh] = outbox.claim_due(second, now=clock())
    with Session(engine) as s:
        assert fresh.attempts == stale.attempts + 1
        assert not outbox.mark_sent(s, stale, "late", now=clock())
        assert outbox.mark_sent(s, fresh, "on-time", now=clock())
        [row] = s.exec(select(OutboxMessage)).all()
        assert (row.status, row.platform_message_id) == ("sent", "on-time")
