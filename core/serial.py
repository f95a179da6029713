"""One-at-a-time handling per key, fully concurrent across keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager

__all__ = ["KeyedLocks"]


class KeyedLocks:
    """A FIFO lock per key, dropped again when nobody holds or waits for it.

    ``asyncio.Lock`` wakes waiters in the order they started waiting, which is what
    keeps the messages of one conversation in arrival order.
    """

    __slots__ = ("_locks", "_users")

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._release(key)

    def _release(self, key: Hashable) -> None:
        self._users[key] -= 1
        if not self._users[key]:
            del self._users[key], self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)
