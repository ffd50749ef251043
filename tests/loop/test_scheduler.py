"""Exactly one process sweeps: a database lock decides; sweeps are idempotent and run from the runtime."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bots.scheduler import SweepLock
from core.db import make_engine


def test_only_one_holder_of_the_sweep_lock_until_it_lets_go(database_url):
    first, second = make_engine(database_url), make_engine(database_url)
    a, b = SweepLock(first), SweepLock(second)
    try:
        assert a.acquire() and a.acquire()  # re-entrant for its holder
        assert not b.acquire()
        a.release()
        assert b.acquire()
        assert not a.acquire()
    finally:
        a.release()
        b.release()
        first.dispose()
        second.dispose()


def test_two_instances_sweeping_at_once_send_each_warning_once(make_neighbourhood):
    hood = make_neighbourhood()
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    other = make_neighbourhood()  # the same database through a second runtime: another instance
    now = ticket.created_at + timedelta(hours=37)
    reports = [hood.runtime.sweeper.run_once(now), other.runtime.sweeper.run_once(now), hood.runtime.sweeper.run_once(now)]
    assert [r.done for r in reports] == [{"confirm": 1, "yellow": 1}, {}, {}]  # still pending: also a confirm reminder
    assert len(hood.outbox(contains="黄灯催办")) == 1
    assert len(hood.events(ticket.id, "sla")) == 2


async def test_the_runtime_starts_the_scheduler_and_one_tick_sweeps(make_neighbourhood):
    hood = make_neighbourhood()
    await asyncio.to_thread(hood.say, "zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    hood.clock.now = ticket.created_at + timedelta(hours=49)
    hood.runtime.settings.run_scheduler = True
    hood.runtime.settings.sweep_interval_seconds = 3600
    await hood.runtime.start()
    try:
        await asyncio.wait_for(hood.runtime.scheduler.swept.wait(), timeout=30)  # the first run starts at once
        report = hood.runtime.scheduler.last_report
    finally:
        await hood.runtime.stop()
    assert report is not None and report.done.get("red") == 1
    assert hood.ticket(ticket.id).escalation_level == "community"
