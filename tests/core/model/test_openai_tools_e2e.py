"""Tool calls through the real ``OpenAIChatModel`` and httpx stack against
``FakeOpenAIServer`` on loopback: a scripted ``CallTools`` answer, and the tool step
sent back on the next request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.model.openai import Completion, OpenAIChatModel
from core.model.protocol import StreamItem
from core.types import ChatMessage, ChatParams, ToolCall, ToolSpec, Usage
from tests.fakes.openai_server import Answer, CallTools, FakeOpenAIServer

pytestmark = pytest.mark.e2e

QUESTION = [ChatMessage("system", "be brief"), ChatMessage("user", "time in Paris and Tokyo?")]
TIME = ToolSpec("time", "The current time in a zone.", {"type": "object", "properties": {}})
PARAMS = ChatParams("fake-model", tools=(TIME,))
PARIS = ("call_a", "time", '{"zone": "Europe/Paris"}')
TOKYO = ("call_b", "time", '{"zone": "Asia/Tokyo"}')


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as running:
        yield running


@pytest.fixture
async def model(server: FakeOpenAIServer) -> AsyncIterator[OpenAIChatModel]:
    async with OpenAIChatModel(base_url=server.base_url, api_key="test-key") as client:
        yield client


async def collect(
    model: OpenAIChatModel, messages: list[ChatMessage], params: ChatParams = PARAMS
) -> list[StreamItem]:
    return [item async for item in model.stream(messages, params)]


async def raw_tool_pieces(server: FakeOpenAIServer, reply: CallTools) -> list[dict[str, Any]]:
    """The ``delta.tool_calls`` pieces the fake streams for ``reply``, as sent."""
    server.script(reply)
    body = {"model": "fake-model", "messages": [], "stream": True}
    headers = {"Authorization": "Bearer test-key"}
    async with httpx.AsyncClient() as client:
        url = f"{server.base_url}/chat/completions"
        response = await client.post(url, json=body, headers=headers)
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    chunks = [json.loads(data) for data in events if data != "[DONE]"]
    return [piece for c in chunks for choice in c["choices"]
            for piece in choice["delta"].get("tool_calls") or []]


async def test_the_fake_streams_arguments_in_interleaved_pieces(server: FakeOpenAIServer) -> None:
    pieces = await raw_tool_pieces(server, CallTools([PARIS, TOKYO], chunk_size=4))
    # What the client must cope with: ids and names only first, arguments in pieces,
    # the two calls taking turns.
    assert [p["index"] for p in pieces[:6]] == [0, 1, 0, 1, 0, 1]
    assert [p.get("id") for p in pieces[:3]] == ["call_a", "call_b", None]
    assert len(pieces) == 2 + 2 * 6  # a header each, then 24 characters in 4s
    arguments = "".join(p["function"].get("arguments", "") for p in pieces if p["index"] == 0)
    assert arguments == PARIS[2]


async def test_two_streamed_calls_come_whole_then_usage(
    server: FakeOpenAIServer, model: OpenAIChatModel
) -> None:
    server.script(CallTools([PARIS, TOKYO], chunk_size=3, usage=(30, 12)))
    assert await collect(model, QUESTION) == [ToolCall(*PARIS), ToolCall(*TOKYO), Usage(30, 12)]
    assert server.requests[0]["tools"] == [{"type": "function", "function": {
        "name": "time", "description": "The current time in a zone.",
        "parameters": {"type": "object", "properties": {}},
    }}]


async def test_text_before_the_calls_streams_as_text(
    server: FakeOpenAIServer, model: OpenAIChatModel
) -> None:
    server.script(CallTools([PARIS], text="Let me look that up.", chunk_size=5, usage=(30, 12)))
    items = await collect(model, QUESTION)
    assert "".join(item for item in items if isinstance(item, str)) == "Let me look that up."
    assert items[-2:] == [ToolCall(*PARIS), Usage(30, 12)]


async def test_the_tool_step_goes_back_with_the_next_request(
    server: FakeOpenAIServer, model: OpenAIChatModel
) -> None:
    server.script(CallTools([PARIS]), Answer("It is noon in Paris."))
    [call, _] = await collect(model, QUESTION)
    assert isinstance(call, ToolCall)
    step = [
        ChatMessage("assistant", "", tool_calls=(call,)),
        ChatMessage("tool", "12:00", tool_call_id=call.id),
    ]
    items = await collect(model, [*QUESTION, *step])
    assert "".join(item for item in items if isinstance(item, str)) == "It is noon in Paris."
    assert server.requests[1]["messages"][2:] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "time", "arguments": '{"zone": "Europe/Paris"}'}},
        ]},
        {"role": "tool", "tool_call_id": "call_a", "content": "12:00"},
    ]


async def test_without_tools_the_fake_sees_no_tools(
    server: FakeOpenAIServer, model: OpenAIChatModel
) -> None:
    await collect(model, QUESTION, ChatParams("fake-model"))
    assert "tools" not in server.requests[0]


async def test_a_whole_answer_with_calls(server: FakeOpenAIServer, model: OpenAIChatModel) -> None:
    server.script(CallTools([PARIS, TOKYO], usage=(30, 12)))
    answer = await model.complete_message(QUESTION, PARAMS)
    assert answer == Completion("", (ToolCall(*PARIS), ToolCall(*TOKYO)), Usage(30, 12))
