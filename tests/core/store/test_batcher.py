"""``Batcher``: rows that queue up while a statement is in flight share the next one."""

from __future__ import annotations

import asyncio

import pytest

from core.store.batcher import Batcher


class Writer:
    """Records each batch; holds a batch open until the test releases it."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.failing: set[int] = set()

    async def __call__(self, rows: list[int]) -> list[int | Exception]:
        self.batches.append(list(rows))
        await self.release.wait()
        return [ValueError(f"bad {row}") if row in self.failing else row * 10 for row in rows]


async def test_a_lone_row_is_written_at_once() -> None:
    writer = Writer()
    inserter: Batcher[int, int] = Batcher(writer, max_batch=10)

    assert await inserter.submit(1) == 10
    assert writer.batches == [[1]]


async def test_rows_submitted_during_a_write_share_the_next_one_in_order() -> None:
    writer = Writer()
    writer.release.clear()
    inserter: Batcher[int, int] = Batcher(writer, max_batch=10)
    first = asyncio.ensure_future(inserter.submit(0))
    await asyncio.sleep(0)  # the first batch is now in flight, held open
    rest = [asyncio.ensure_future(inserter.submit(n)) for n in range(1, 6)]
    await asyncio.sleep(0)

    writer.release.set()

    assert await asyncio.gather(first, *rest) == [0, 10, 20, 30, 40, 50]
    assert writer.batches == [[0], [1, 2, 3, 4, 5]]


async def test_batches_are_capped() -> None:
    writer = Writer()
    writer.release.clear()
    inserter: Batcher[int, int] = Batcher(writer, max_batch=2)
    pending = [asyncio.ensure_future(inserter.submit(n)) for n in range(5)]
    await asyncio.sleep(0)
    writer.release.set()

    await asyncio.gather(*pending)

    assert writer.batches == [[0, 1], [2, 3], [4]]


async def test_each_row_gets_its_own_error() -> None:
    writer = Writer()
    writer.failing = {2}
    writer.release.clear()
    inserter: Batcher[int, int] = Batcher(writer, max_batch=10)
    pending = [asyncio.ensure_future(inserter.submit(n)) for n in (1, 2, 3)]
    await asyncio.sleep(0)
    writer.release.set()

    results = await asyncio.gather(*pending, return_exceptions=True)

    assert results[0] == 10 and results[2] == 30
    assert isinstance(results[1], ValueError) and str(results[1]) == "bad 2"


async def test_a_writer_that_raises_fails_its_whole_batch_and_the_next_batch_still_runs() -> None:
    calls: list[list[int]] = []

    async def write(rows: list[int]) -> list[int | Exception]:
        calls.append(rows)
        if len(calls) == 1:
            raise RuntimeError("database gone")
        return rows

    inserter: Batcher[int, int] = Batcher(write, max_batch=10)
    with pytest.raises(RuntimeError, match="database gone"):
        await inserter.submit(1)

    assert await inserter.submit(2) == 2


async def test_a_cancelled_caller_does_not_stop_the_others() -> None:
    writer = Writer()
    writer.release.clear()
    inserter: Batcher[int, int] = Batcher(writer, max_batch=10)
    first = asyncio.ensure_future(inserter.submit(1))
    second = asyncio.ensure_future(inserter.submit(2))
    await asyncio.sleep(0)

    first.cancel()
    writer.release.set()

    assert await second == 20
    assert first.cancelled()
    assert writer.batches == [[1, 2]]  # the cancelled row was still written


async def test_drain_waits_for_rows_already_submitted() -> None:
    writer = Writer()
    writer.release.clear()
    inserter: Batcher[int, int] = Batcher(writer, max_batch=10)
    pending = asyncio.ensure_future(inserter.submit(7))
    await asyncio.sleep(0)

    drained = asyncio.ensure_future(inserter.drain())
    await asyncio.sleep(0)
    assert not drained.done()
    writer.release.set()
    await drained

    assert pending.done() and pending.result() == 70
    await inserter.drain()  # nothing in flight: returns at once
