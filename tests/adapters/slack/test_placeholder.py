"""``Placeholder``: posted after its delay unless withdrawn first."""

from __future__ import annotations

import asyncio

import pytest

from adapters.slack.placeholder import Placeholder


class Poster:
    def __init__(self, fail: Exception | None = None) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self._fail = fail

    async def post(self) -> str:
        self.calls += 1
        await self.release.wait()
        if self._fail is not None:
            raise self._fail
        return "ts-1"


async def test_withdrawn_before_its_delay_it_is_never_posted():
    poster = Poster()
    placeholder = Placeholder(poster.post, delay=0.05)
    assert await placeholder.withdraw() is None
    await asyncio.sleep(0.1)
    assert poster.calls == 0


async def test_not_posted_when_the_answer_is_ready_by_its_delay():
    poster = Poster()
    ready = asyncio.Event()
    placeholder = Placeholder(poster.post, delay=0.05, unless=ready.is_set)
    ready.set()  # e.g. the model has finished and the answer is being stored
    await asyncio.sleep(0.1)
    assert poster.calls == 0 and placeholder.posted() is None
    assert await placeholder.withdraw() is None


async def test_posted_when_the_answer_is_not_ready_by_its_delay():
    poster = Poster()
    poster.release.set()
    placeholder = Placeholder(poster.post, delay=0, unless=lambda: False)
    assert await asyncio.wait_for(_posted(placeholder), timeout=5) == "ts-1"
    assert poster.calls == 1


async def _posted(placeholder: Placeholder[str]) -> str:
    while (posted := placeholder.posted()) is None:
        await asyncio.sleep(0)
    return posted


async def test_withdrawn_while_posting_it_waits_for_the_post():
    poster = Poster()
    placeholder = Placeholder(poster.post, delay=0)
    await asyncio.sleep(0.01)  # the delay is over and the post is on its way
    assert poster.calls == 1 and placeholder.posted() is None
    withdrawing = asyncio.create_task(placeholder.withdraw())
    poster.release.set()
    assert await withdrawing == "ts-1"
    assert placeholder.posted() == "ts-1"


async def test_a_failed_post_is_not_posted_and_withdrawing_raises_its_error():
    poster = Poster(fail=RuntimeError("channel_not_found"))
    poster.release.set()
    placeholder = Placeholder(poster.post, delay=0)
    await asyncio.sleep(0.01)
    assert placeholder.posted() is None
    with pytest.raises(RuntimeError, match="channel_not_found"):
        await placeholder.withdraw()


async def test_discard_stops_it_in_any_state():
    waiting, failed = Poster(), Poster(fail=RuntimeError("boom"))
    failed.release.set()
    pending = Placeholder(waiting.post, delay=0.05)
    broken = Placeholder(failed.post, delay=0)
    await asyncio.sleep(0.01)
    pending.discard()
    broken.discard()  # its error is retrieved, not left for asyncio to report
    await asyncio.sleep(0.1)
    assert waiting.calls == 0
