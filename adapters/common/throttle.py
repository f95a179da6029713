"""Streaming a reply by editing one message, throttled for platform rate limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["EditRateLimited", "ThrottledEditor"]


class EditRateLimited(Exception):
    """Raised by an adapter's edit function when the platform answered 429."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after


class ThrottledEditor:
    """Pushes the newest text of a growing message at most once per ``interval``.

    ``update`` is cheap to call on every delta: it edits only when the interval has
    passed (and no 429 back-off is running), otherwise it just remembers the text.
    ``finish`` makes sure the last text reaches the platform, waiting out a back-off.
    """

    __slots__ = ("_edit", "_interval", "_clock", "_sleep", "_next_at", "_pending", "_shown", "edits")

    def __init__(
        self,
        edit: Callable[[str], Awaitable[None]],
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._edit = edit
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._next_at = clock() + interval
        self._pending: str | None = None
        self._shown: str | None = None
        self.edits = 0

    async def update(self, text: str) -> None:
        self._pending = text
        if self._clock() >= self._next_at:
            await self._push()

    async def finish(self, text: str, max_attempts: int = 5) -> None:
        """Show ``text`` for sure: waits out the interval or a 429 back-off and retries."""
        self._pending = text
        for _ in range(max_attempts):
            wait = self._next_at - self._clock()
            if wait > 0:
                await self._sleep(wait)
            if await self._push():
                return
        raise EditRateLimited(self._next_at - self._clock())

    async def _push(self) -> bool:
        text = self._pending
        if text is None or text == self._shown:
            return True
        try:
            await self._edit(text)
        except EditRateLimited as exc:
            self._next_at = self._clock() + max(exc.retry_after, self._interval)
            return False
        self.edits += 1
        self._shown = text
        self._next_at = self._clock() + self._interval
        return True
