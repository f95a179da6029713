"""The adapters' background tasks: one named task per answer, referenced until done."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["ErrorHook", "TaskSet"]

log = logging.getLogger(__name__)

ErrorHook = Callable[[asyncio.Task[Any], BaseException], None]


def _log_error(task: asyncio.Task[Any], exc: BaseException) -> None:
    log.error("task %s failed", task.get_name(), exc_info=exc)


class TaskSet:
    """Strong references to running tasks (the loop keeps only weak ones), one error hook.

    A failing task goes to ``on_error`` (by default a log line): one bad event never
    stops the adapter. After ``aclose`` new work is refused, so shutdown can finish.
    """

    __slots__ = ("_tasks", "_on_error", "_closed")

    def __init__(self, on_error: ErrorHook = _log_error) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_error = on_error
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any] | None:
        """Run ``coro`` as task ``name``; None (and the coroutine closed) once closing."""
        if self._closed:
            coro.close()
            log.warning("not starting %s: the adapter is stopping", name)
            return None
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    async def join(self) -> None:
        """Wait for the tasks running now, and for any they start meanwhile."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for the tasks running now; how many still run."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        return len(self._tasks)

    async def aclose(self) -> None:
        """Cancel what is still running and wait for it; closing twice is harmless."""
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await self.join()

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._on_error(task, task.exception())  # type: ignore[arg-type]
