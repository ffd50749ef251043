"""A small in-process rate limiter (token buckets per key) for endpoints anyone can reach."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class Throttle:
    """At most ``per_minute`` events per key, in bursts of up to ``per_minute``; 0 means no limit.

    Memory stays bounded: once more than ``max_keys`` keys are tracked, keys whose bucket has
    refilled (idle for a minute) are forgotten, and if that is not enough the oldest are.
    """

    def __init__(self, per_minute: int, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Count one event for ``key``: 0.0 when allowed, else the seconds to wait before the next one."""
        if self.capacity <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_keys:
                self._forget(now)
            return 0.0

    def _forget(self, now: float) -> None:
        full = [k for k, (tokens, at) in self._buckets.items() if tokens + (now - at) * self.rate >= self.capacity]
        for k in full:
            del self._buckets[k]
        overflow = len(self._buckets) - self.max_keys
        for k in list(self._buckets)[:max(overflow, 0)]:  # dicts keep insertion order: oldest first
            del self._buckets[k]


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
