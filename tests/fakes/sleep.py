"""``RecordedSleep``: stands in for ``asyncio.sleep`` where retries and back-offs wait."""

from __future__ import annotations

import asyncio


class RecordedSleep:
    """Records the waits the client asks for and only yields to the loop, keeping tests fast."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)
