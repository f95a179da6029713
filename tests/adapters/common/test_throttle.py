from __future__ import annotations

import pytest

from adapters.common.throttle import EditRateLimited, ThrottledEditor


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def make(edit, time: FakeTime, interval: float = 1.0) -> ThrottledEditor:
    return ThrottledEditor(edit, interval=interval, clock=time.clock, sleep=time.sleep)


async def test_updates_within_the_interval_are_coalesced():
    time, shown = FakeTime(), []

    async def edit(text: str) -> None:
        shown.append((time.now, text))

    editor = make(edit, time)
    for i in range(30):  # 30 deltas over 3 seconds
        time.now = i * 0.1
        await editor.update(f"text {i}")
    await editor.finish("final")
    assert [t for t, _ in shown] == [1.0, 2.0, 3.0]
    assert shown[-1][1] == "final" and editor.edits == 3


async def test_429_backs_off_for_retry_after_then_the_final_text_lands():
    time, shown, failures = FakeTime(), [], [2]

    async def edit(text: str) -> None:
        if failures[0]:
            failures[0] -= 1
            raise EditRateLimited(retry_after=5.0)
        shown.append((time.now, text))

    editor = make(edit, time)
    time.now = 1.0
    await editor.update("a")  # 429: nothing before t=6
    time.now = 3.0
    await editor.update("b")  # still backing off: no call made
    await editor.finish("done")  # waits to 6, gets a second 429, waits to 11
    assert shown == [(11.0, "done")]


async def test_finish_gives_up_after_bounded_attempts():
    time = FakeTime()

    async def edit(text: str) -> None:
        raise EditRateLimited(retry_after=1.0)

    with pytest.raises(EditRateLimited):
        await make(edit, time).finish("never", max_attempts=3)


async def test_unchanged_text_is_not_sent_again():
    time, calls = FakeTime(), []

    async def edit(text: str) -> None:
        calls.append(text)

    editor = make(edit, time)
    time.now = 1
    await editor.update("same")
    time.now = 2
    await editor.update("same")
    await editor.finish("same")
    assert calls == ["same"]
