"""Live views wake at once when a handler in the thread pool (or the scheduler's thread) records a change."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time

WAIT = 5.0


def _loop_in_a_thread() -> asyncio.AbstractEventLoop:
    """An event loop (as uvicorn's) in a daemon thread; debug mode makes asyncio refuse calls from other
    threads instead of silently not waking. A waiter stuck by the old code cannot hang the test run."""
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return loop


def test_a_change_set_from_another_thread_wakes_the_waiting_live_view_at_once(runtime):
    loop = _loop_in_a_thread()
    parked = threading.Event()

    async def live_view() -> float:
        runtime.changed.clear()
        waiting = asyncio.ensure_future(runtime.changed.wait())
        await asyncio.sleep(0)  # the waiter is parked on the event
        parked.set()
        await waiting
        return time.monotonic()

    woke = asyncio.run_coroutine_threadsafe(live_view(), loop)
    assert parked.wait(WAIT)
    set_at = time.monotonic()
    runtime.changed.set()  # this test's thread plays the threadpool handler that committed a change
    try:
        assert woke.result(timeout=WAIT) - set_at < WAIT
    except concurrent.futures.TimeoutError:
        raise AssertionError("the live view was not woken: set() from another thread did not reach its loop") from None
    loop.call_soon_threadsafe(loop.stop)


async def test_a_change_set_on_the_loop_itself_still_wakes_waiters(runtime):
    runtime.changed.clear()
    waiting = asyncio.ensure_future(runtime.changed.wait())
    await asyncio.sleep(0)
    runtime.changed.set()
    assert await asyncio.wait_for(waiting, timeout=WAIT) is True
