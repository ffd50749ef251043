"""core.locks: every database-wide lock declared once; a waiting lock keeps a second instance out until the first leaves."""

from __future__ import annotations

import threading

from core import locks
from core.db import make_engine


def test_every_lock_has_its_own_key():
    assert len(set(locks.KEYS.values())) == len(locks.KEYS)


def test_a_second_instance_waits_for_the_startup_lock_until_the_first_lets_go(database_url):
    first, second = make_engine(database_url), make_engine(database_url)
    entered = threading.Event()

    def other_instance() -> None:
        with locks.waiting_for(second, "startup"):
            entered.set()

    try:
        with locks.waiting_for(first, "startup"):
            waiter = threading.Thread(target=other_instance, daemon=True)
            waiter.start()
            assert not entered.wait(0.5), "the second instance got in while the first held the lock"
        assert entered.wait(30), "the second instance never got the lock after the first let go"
        waiter.join(30)
    finally:
        first.dispose()
        second.dispose()


def test_a_held_lock_is_one_holders_until_released(database_url):
    first, second = make_engine(database_url), make_engine(database_url)
    a, b = locks.HeldLock(first, name="wecom-archive"), locks.HeldLock(second, name="wecom-archive")
    other = locks.HeldLock(second, name="sweep")  # another duty's lock is independent
    try:
        assert a.acquire() and not b.acquire() and other.acquire()
        a.release()
        assert b.acquire()
    finally:
        for lock in (a, b, other):
            lock.release()
        first.dispose()
        second.dispose()
