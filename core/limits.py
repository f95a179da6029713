"""Per-user message rate limiting."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

__all__ = ["SlidingWindowLimiter"]

# Past this many users, idle ones are dropped before counting a new event.
_MAX_TRACKED_KEYS = 10_000


class SlidingWindowLimiter:
    """At most ``limit`` events per key in any ``window`` seconds; 0 disables it."""

    __slots__ = ("_limit", "_window", "_clock", "_events")

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._events: dict[Hashable, deque[float]] = {}

    def acquire(self, key: Hashable) -> float:
        """Count one event for ``key``. Returns 0 if allowed, else seconds until it would be."""
        if self._limit <= 0:
            return 0.0
        if len(self._events) > _MAX_TRACKED_KEYS:
            self.forget_idle()
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self._window:
            events.popleft()
        if len(events) >= self._limit:
            return events[0] + self._window - now
        events.append(now)
        return 0.0

    def forget_idle(self) -> None:
        """Drop keys with no event inside the window, so memory follows active users only."""
        cutoff = self._clock() - self._window
        for key in [k for k, ev in self._events.items() if not ev or ev[-1] <= cutoff]:
            del self._events[key]
