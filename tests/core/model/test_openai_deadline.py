"""OPENAI_DEADLINE_SECONDS bounds one answer whole: a stream that keeps trickling, a
stream that stalls, and a server that never answers are all cut off at the deadline,
and the text already streamed has been passed on before the error."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.errors import AnswerTooSlowError, ModelUnavailableError
from core.model.openai import OpenAIChatModel
from core.model.retry import RetryPolicy
from core.types import ChatMessage, ChatParams
from tests.core.model.mock_api import FakeTime, MockAPI, make_model
from tests.fakes.openai_server import Answer, FakeOpenAIServer

MESSAGES = [ChatMessage("user", "hello")]
PARAMS = ChatParams("gpt-test")
# Without the deadline these tests would not end; with it they end in well under a second.
GUARD = 5.0


def event(text: str) -> bytes:
    chunk = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return f"data: {json.dumps(chunk)}\n\n".encode()


class Trickle(httpx.AsyncByteStream):
    """A stream that sends one word a read, each read a (fake) second later, forever."""

    def __init__(self, time: FakeTime) -> None:
        self.time = time

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            self.time.now += 1.0
            yield event("word ")
            await asyncio.sleep(0)


class Stall(httpx.AsyncByteStream):
    """A stream that sends one word, then nothing, never ending."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield event("first ")
        await asyncio.Event().wait()


async def read_until_error(model: OpenAIChatModel) -> tuple[list[Any], ModelUnavailableError]:
    items: list[Any] = []
    with pytest.raises(AnswerTooSlowError) as caught:
        async with asyncio.timeout(GUARD):
            async for item in model.stream(MESSAGES, PARAMS):
                items.append(item)
    return items, caught.value


async def test_a_trickling_stream_is_cut_off_at_the_deadline() -> None:
    time = FakeTime()
    api = MockAPI(httpx.Response(200, stream=Trickle(time)))
    items, error = await read_until_error(make_model(api, time, deadline=5.0))
    # Every read is quick, so no read timeout fires; the deadline does: the words that
    # came within the 5 s (one a second) are passed on, then the error.
    assert items == ["word "] * 5
    assert "deadline of 5 s" in str(error) and "OPENAI_DEADLINE_SECONDS" in str(error)


async def test_a_stream_that_stalls_is_cut_off_at_the_deadline() -> None:
    time = FakeTime()
    api = MockAPI(httpx.Response(200, stream=Stall()))
    items, error = await read_until_error(make_model(api, time, deadline=0.05))
    assert items == ["first "]
    assert "deadline" in str(error)


async def test_a_server_that_never_answers_is_cut_off_at_the_deadline_not_retried() -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    time = FakeTime()
    api = MockAPI(never, never)
    items, error = await read_until_error(make_model(api, time, deadline=0.05))
    assert items == [] and len(api.requests) == 1
    assert "deadline" in str(error)


async def test_a_slow_writer_on_a_real_socket_is_cut_off_with_its_text_kept() -> None:
    async with FakeOpenAIServer() as server:
        # 200 chunks 20 ms apart: 4 s of answer, every read quick.
        server.script(Answer("x" * 200, chunk_size=1, chunk_delay=0.02))
        retry = RetryPolicy(max_attempts=1, deadline=0.3)
        model = OpenAIChatModel(base_url=server.base_url, api_key="test-key", retry=retry)
        async with model:
            items, error = await read_until_error(model)
    streamed = "".join(item for item in items if isinstance(item, str))
    assert 0 < len(streamed) < 200 and set(streamed) == {"x"}
    assert "deadline of 0.3 s" in str(error)
