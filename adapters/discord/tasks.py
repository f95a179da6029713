"""The adapter's background tasks: named, referenced until done, errors to one hook."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["BackgroundTasks"]

log = logging.getLogger(__name__)

ErrorHook = Callable[[asyncio.Task[Any], BaseException], None]


def _log_error(task: asyncio.Task[Any], exc: BaseException) -> None:
    log.error("task %s failed", task.get_name(), exc_info=exc)


class BackgroundTasks:
    """Keeps a reference to every task (asyncio holds only weak ones) until it ends."""

    __slots__ = ("_tasks", "_on_error")

    def __init__(self, on_error: ErrorHook = _log_error) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_error = on_error

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    async def aclose(self) -> None:
        """Cancel what is still running and wait for it; safe to call twice."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._on_error(task, task.exception())  # type: ignore[arg-type]
