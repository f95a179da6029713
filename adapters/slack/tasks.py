"""Each answer runs as its own named task, kept alive and cancelled on stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

__all__ = ["TaskSet"]

log = logging.getLogger(__name__)


class TaskSet:
    """Strong references to running tasks (the loop keeps only weak ones), one error hook."""

    __slots__ = ("_tasks", "_closed")

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        if self._closed:
            coro.close()
            log.warning("not starting %s: the adapter is stopping", name)
            return
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def join(self) -> None:
        """Wait for the tasks running now (tests and shutdown use it)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Cancel everything still running and wait for it; closing twice is harmless."""
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await self.join()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            # The one error hook: one bad event is logged and never stops the app.
            log.error("task %s failed", task.get_name(), exc_info=exc)
