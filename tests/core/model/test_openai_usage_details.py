"""Usage's details: cached prompt tokens (billed less) and reasoning tokens, as OpenAI
reports them; any odd shape costs only the detail, never the answer or the counts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.types import ChatMessage, ChatParams, Usage
from tests.core.model.mock_api import FakeTime, MockAPI, make_model, sse

MESSAGES = [ChatMessage("user", "hello")]
PARAMS = ChatParams("gpt-test")


def streamed(usage: dict[str, Any]) -> httpx.Response:
    text = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}]}
    return sse(text, {"choices": [], "usage": usage})


async def streamed_usage(usage: dict[str, Any]) -> Usage | None:
    model = make_model(MockAPI(streamed(usage)), FakeTime())
    items = [item async for item in model.stream(MESSAGES, PARAMS)]
    return next((item for item in items if isinstance(item, Usage)), None)


OPENAI = {
    "prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 192, "audio_tokens": 0},
}


async def test_cached_and_reasoning_tokens_are_read_from_a_stream() -> None:
    expected = Usage(2006, 300, cached_tokens=1920, reasoning_tokens=192)
    assert await streamed_usage(OPENAI) == expected


async def test_cached_and_reasoning_tokens_are_read_from_a_whole_answer() -> None:
    message = {"role": "assistant", "content": "hi"}
    answer = {"choices": [{"index": 0, "message": message}], "usage": OPENAI}
    model = make_model(MockAPI(httpx.Response(200, json=answer)), FakeTime())
    completion = await model.complete_message(MESSAGES, PARAMS)
    assert completion.usage == Usage(2006, 300, cached_tokens=1920, reasoning_tokens=192)


@pytest.mark.parametrize(
    ("details", "cached"),
    [
        (None, 0), ("1920", 0), ([1920], 0), ({"cached_tokens": None}, 0),
        ({"cached_tokens": "12"}, 0), ({"cached_tokens": -5}, 0), ({"cached_tokens": True}, 0),
        ({"cached_tokens": 1.5}, 0),
        ({"cached_tokens": 99_999}, 2006),  # never more than the prompt
    ],
)
async def test_odd_details_cost_only_that_detail(details: object, cached: int) -> None:
    usage = {"prompt_tokens": 2006, "completion_tokens": 300, "prompt_tokens_details": details,
             "completion_tokens_details": {"reasoning_tokens": 7}}
    assert await streamed_usage(usage) == Usage(2006, 300, cached_tokens=cached, reasoning_tokens=7)
