"""The signal that wakes this process's live views (console rows, playground) when something changed.

Handlers that change tickets mostly run in FastAPI's thread pool, and the scheduler in its own
thread, while the live views wait on the event loop. ``asyncio.Event.set()`` is not thread-safe:
called from another thread it marks the waiters done without waking the loop, so a view
would notice only at its next timeout. :class:`ChangeSignal` hands ``set()`` to the loop with
``call_soon_threadsafe`` when it is called from any other thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Literal


class ChangeSignal(asyncio.Event):
    """An ``asyncio.Event`` whose :meth:`set` may be called from any thread."""

    def __init__(self) -> None:
        super().__init__()
        self._owner: asyncio.AbstractEventLoop | None = None
        self._owner_thread: int | None = None

    def bind(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Remember the loop the waiters run on (the runtime does this at start; :meth:`wait` too)."""
        self._owner = loop or asyncio.get_running_loop()
        self._owner_thread = threading.get_ident()

    async def wait(self) -> Literal[True]:
        if self._owner is not asyncio.get_running_loop():
            self.bind()
        return await super().wait()

    def set(self) -> None:
        loop = self._owner
        if loop is None or loop.is_closed() or threading.get_ident() == self._owner_thread:
            super().set()  # nobody waits on another thread's loop: setting the flag is enough
        else:
            loop.call_soon_threadsafe(super().set)
