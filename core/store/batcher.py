"""Group commit (and grouped reads): items submitted while a statement is in flight
share the next statement.

A message of the engine waits for its turn to be committed, and on SQLite each statement
is a round-trip to aiosqlite's thread. With many conversations answering at once, one
multi-row statement for everything that queued up in the meantime costs about what one
row costs, so throughput grows with load instead of queueing behind the connection. The
same holds for reads: the histories of a burst of new threads are read in one SELECT.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["Batcher"]

Row = TypeVar("Row")
Result = TypeVar("Result")


class Batcher(Generic[Row, Result]):
    """``await submit(row)`` returns once the row is written or read (or raises its error).

    Up to ``lanes`` background tasks run batches while rows are waiting and end when
    none are, so an idle store holds no task. A row starts a batch at once while fewer
    than ``lanes`` are running; otherwise it waits, and the next lane to come free takes
    everything waiting in one statement. One lane suits one connection (SQLite); more
    let a batch held up in the database (a claim queued behind another process's lock)
    not hold up the rows behind it. Each row's outcome is its own: the ``write``
    function decides how a failure in a batch is narrowed down to the rows that caused it.
    """

    def __init__(
        self, write: Callable[[list[Row]], Awaitable[list[Result | Exception]]], max_batch: int,
        lanes: int = 1,
    ) -> None:
        # ``write`` returns one result per row, in order: the stored value or its error.
        self._write = write
        self._max_batch = max_batch
        self._lanes = lanes
        self._waiting: list[tuple[Row, asyncio.Future[Result]]] = []
        # The loop keeps only weak references to tasks: this keeps the lanes running.
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, row: Row) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, future))
        if len(self._running) < self._lanes:
            lane = asyncio.create_task(self._write_waiting(), name="store-batch")
            self._running.add(lane)
        return await future

    async def drain(self) -> None:
        """Wait until every row submitted so far is written."""
        if self._running:
            await asyncio.wait(set(self._running))

    async def _write_waiting(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                try:
                    results = await self._write([row for row, _ in batch])
                except Exception as exc:  # noqa: BLE001 - each waiting caller gets it
                    results = [exc] * len(batch)
                except BaseException:
                    _cancel(batch)
                    raise
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # its caller was cancelled; the row is written anyway
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            # No await since the loop test: nothing can have been queued in between.
            self._running.discard(asyncio.current_task())  # type: ignore[arg-type]
            if not self._running:
                waiting, self._waiting = self._waiting, []
                _cancel(waiting)


def _cancel(batch: list[tuple[Row, asyncio.Future[Result]]]) -> None:
    for _, future in batch:
        future.cancel()
