"""How long to wait before starting a failed MCP server again."""

from __future__ import annotations

__all__ = ["Backoff"]


class Backoff:
    """Waits that double from ``first`` up to ``ceiling`` seconds: a server that is down
    for an hour is tried once a minute, not hammered, yet a blip is retried at once.

    No jitter: each server is one client of its own process, not one of a crowd.
    """

    __slots__ = ("first", "ceiling", "_next")

    def __init__(self, first: float = 1.0, ceiling: float = 60.0) -> None:
        if first <= 0 or ceiling < first:
            raise ValueError("backoff needs 0 < first <= ceiling")
        self.first = first
        self.ceiling = ceiling
        self._next = first

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self.ceiling, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self.first
