"""OpenAI function calling in ``OpenAIChatModel``, over ``httpx.MockTransport``: the tools
offered, tool steps sent back, and tool calls put together from streamed pieces –
including the shapes local servers send and the bounds on hostile answers."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from core.errors import MalformedResponseError
from core.model.openai import Completion
from core.model.protocol import StreamItem
from core.model.tool_calls import MAX_ARGUMENTS, MAX_TOOL_CALLS
from core.types import ChatMessage, ChatParams, ToolCall, ToolSpec, Usage
from tests.core.model.mock_api import FakeTime, MockAPI, make_model, sse

MESSAGES = [ChatMessage("system", "be brief"), ChatMessage("user", "what time is it?")]
TIME = ToolSpec(
    "time", "The current time in a time zone.",
    {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
)
PARAMS = ChatParams("gpt-test", tools=(TIME,))
USAGE = {"prompt_tokens": 20, "completion_tokens": 9}


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def piece(
    index: int | None = 0, call_id: str | None = None, name: str | None = None,
    arguments: str | None = None, *, typed: bool = True,
) -> dict[str, Any]:
    """One ``delta.tool_calls`` entry, with only the fields given."""
    function = {k: v for k, v in (("name", name), ("arguments", arguments)) if v is not None}
    entry: dict[str, Any] = {"function": function}
    if index is not None:
        entry["index"] = index
    if call_id is not None:
        entry["id"] = call_id
    if typed and call_id is not None:
        entry["type"] = "function"
    return entry


def calls_chunk(*pieces: dict[str, Any], content: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {"tool_calls": list(pieces)}
    if content is not None:
        delta["content"] = content
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def text_chunk(content: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}]}


def stream(*chunks: dict[str, Any], usage: bool = True) -> httpx.Response:
    """A whole answer: a role chunk, ``chunks``, finish_reason "tool_calls", usage."""
    role = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]}
    finish = {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
    tail = [{"choices": [], "usage": USAGE}] if usage else []
    return sse(role, *chunks, finish, *tail)


def split(text: str, size: int) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)]


async def collect(api: MockAPI, time: FakeTime, params: ChatParams = PARAMS) -> list[StreamItem]:
    model = make_model(api, time)
    return [item async for item in model.stream(MESSAGES, params)]


async def malformed(api: MockAPI, time: FakeTime) -> tuple[list[StreamItem], str]:
    """What the stream yielded before it raised, and the error's text."""
    items: list[StreamItem] = []
    with pytest.raises(MalformedResponseError) as caught:
        async for item in make_model(api, time).stream(MESSAGES, PARAMS):
            items.append(item)
    return items, str(caught.value)


# -- the request ------------------------------------------------------------------------------


async def test_without_tools_the_body_is_as_before_tools(time: FakeTime) -> None:
    api = MockAPI(stream(text_chunk("noon")))
    await collect(api, time, ChatParams("gpt-test"))
    # The exact body, key order included: a server that knows no tools sees no change.
    assert list(api.body().items()) == [
        ("model", "gpt-test"),
        ("messages", [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "what time is it?"},
        ]),
        ("stream", True),
        ("stream_options", {"include_usage": True}),
    ]


async def test_tools_are_offered_as_functions(time: FakeTime) -> None:
    # The schema may be any mapping (the registry freezes them); the wire needs a dict.
    frozen = ToolSpec("fetch_url", "Fetch a page.", MappingProxyType({"type": "object"}))
    api = MockAPI(stream(text_chunk("noon")))
    await collect(api, time, ChatParams("gpt-test", tools=(TIME, frozen)))
    assert api.body()["tools"] == [
        {"type": "function", "function": {
            "name": "time", "description": "The current time in a time zone.",
            "parameters": dict(TIME.parameters),
        }},
        {"type": "function", "function": {
            "name": "fetch_url", "description": "Fetch a page.", "parameters": {"type": "object"},
        }},
    ]
    assert "tool_choice" not in api.body()  # the API's default ("auto") is wanted


async def test_tool_steps_are_sent_back_as_openai_messages(time: FakeTime) -> None:
    calls = (ToolCall("call_1", "time", '{"zone": "UTC"}'), ToolCall("call_2", "time", "{}"))
    messages = [
        *MESSAGES,
        ChatMessage("assistant", "", tool_calls=calls),
        ChatMessage("tool", "12:00", tool_call_id="call_1"),
        ChatMessage("tool", "error: zone is required", tool_call_id="call_2"),
        ChatMessage("assistant", "Checking Paris too.", tool_calls=calls[:1]),
    ]
    api = MockAPI(stream(text_chunk("noon")))
    model = make_model(api, time)
    [item async for item in model.stream(messages, PARAMS)]
    wire_calls = [
        {"id": "call_1", "type": "function",
         "function": {"name": "time", "arguments": '{"zone": "UTC"}'}},
        {"id": "call_2", "type": "function", "function": {"name": "time", "arguments": "{}"}},
    ]
    assert api.body()["messages"][2:] == [
        # No text is null, as OpenAI documents it; an empty string is refused by some.
        {"role": "assistant", "content": None, "tool_calls": wire_calls},
        {"role": "tool", "tool_call_id": "call_1", "content": "12:00"},
        {"role": "tool", "tool_call_id": "call_2", "content": "error: zone is required"},
        {"role": "assistant", "content": "Checking Paris too.", "tool_calls": wire_calls[:1]},
    ]


# -- streamed calls -----------------------------------------------------------------------------


async def test_arguments_split_across_many_chunks(time: FakeTime) -> None:
    arguments = '{"zone": "Europe/Paris", "format": "24h"}'
    pieces = [calls_chunk(piece(0, "call_1", "time", ""))]
    pieces += [calls_chunk(piece(0, arguments=part)) for part in split(arguments, 1)]
    api = MockAPI(stream(*pieces))
    assert await collect(api, time) == [ToolCall("call_1", "time", arguments), Usage(20, 9)]


async def test_two_calls_interleaved_come_whole_in_index_order(time: FakeTime) -> None:
    paris, tokyo = '{"zone": "Europe/Paris"}', '{"zone": "Asia/Tokyo"}'
    # The second call starts first, and the pieces of both alternate.
    chunks = [calls_chunk(piece(1, "call_b", "time", "")), calls_chunk(piece(0, "call_a", "time"))]
    for part_a, part_b in zip(split(paris, 5), split(tokyo, 5), strict=False):
        chunks.append(calls_chunk(piece(0, arguments=part_a), piece(1, arguments=part_b)))
    api = MockAPI(stream(*chunks))
    assert await collect(api, time) == [
        ToolCall("call_a", "time", paris), ToolCall("call_b", "time", tokyo), Usage(20, 9),
    ]


async def test_text_goes_out_as_it_comes_and_the_calls_after_it(time: FakeTime) -> None:
    api = MockAPI(stream(
        text_chunk("Let me "),
        calls_chunk(piece(0, "call_1", "time", '{"zone":'), content="check."),
        calls_chunk(piece(0, arguments=' "UTC"}')),
        text_chunk(" One moment."),
    ))
    # Each read is one delta (one read here); the call follows the text, whole.
    assert await collect(api, time) == [
        "Let me check. One moment.", ToolCall("call_1", "time", '{"zone": "UTC"}'), Usage(20, 9),
    ]


async def test_usage_comes_after_every_tool_call(time: FakeTime) -> None:
    api = MockAPI(stream(calls_chunk(piece(0, "a", "time", "{}"), piece(1, "b", "time", "{}"))))
    items = await collect(api, time)
    assert items == [ToolCall("a", "time", "{}"), ToolCall("b", "time", "{}"), Usage(20, 9)]


async def test_without_usage_the_calls_are_last(time: FakeTime) -> None:
    api = MockAPI(stream(calls_chunk(piece(0, "a", "time", "{}")), usage=False))
    assert await collect(api, time) == [ToolCall("a", "time", "{}")]


# -- what local servers send --------------------------------------------------------------------


async def test_id_and_name_on_every_chunk_are_taken_once(time: FakeTime) -> None:
    # Seen from vLLM and llama.cpp builds: every piece repeats the id (and the name).
    api = MockAPI(stream(*(
        calls_chunk(piece(0, "call_1", "time", part)) for part in ['{"zone"', ': "UTC"', "}"]
    )))
    assert await collect(api, time) == [ToolCall("call_1", "time", '{"zone": "UTC"}'), Usage(20, 9)]


async def test_empty_or_null_id_and_name_on_later_chunks_change_nothing(time: FakeTime) -> None:
    later = [
        {"index": 0, "id": "", "type": "function", "function": {"name": "", "arguments": '{"zone"'}},
        {"index": 0, "id": None, "function": {"name": None, "arguments": ': "UTC"}'}},
    ]
    api = MockAPI(stream(calls_chunk(piece(0, "call_1", "time", "")), *map(calls_chunk, later)))
    assert await collect(api, time) == [ToolCall("call_1", "time", '{"zone": "UTC"}'), Usage(20, 9)]


async def test_a_whole_call_in_one_chunk_without_type(time: FakeTime) -> None:
    # Ollama: each call whole, in one piece, with no "type".
    api = MockAPI(stream(calls_chunk(
        piece(0, "call_1", "time", '{"zone": "UTC"}', typed=False),
        piece(1, "call_2", "time", '{"zone": "CET"}', typed=False),
    )))
    assert await collect(api, time) == [
        ToolCall("call_1", "time", '{"zone": "UTC"}'),
        ToolCall("call_2", "time", '{"zone": "CET"}'),
        Usage(20, 9),
    ]


async def test_calls_without_an_index_follow_each_other(time: FakeTime) -> None:
    api = MockAPI(stream(
        calls_chunk(piece(None, "call_1", "time", '{"zone":')),
        calls_chunk(piece(None, arguments=' "UTC"}')),
        calls_chunk(piece(None, "call_2", "time", '{"zone": "CET"}')),
        calls_chunk(piece(None, "call_2", arguments="")),  # the same id again: same call
    ))
    assert await collect(api, time) == [
        ToolCall("call_1", "time", '{"zone": "UTC"}'),
        ToolCall("call_2", "time", '{"zone": "CET"}'),
        Usage(20, 9),
    ]


async def test_arguments_sent_as_an_object_become_json_text(time: FakeTime) -> None:
    entry = {"index": 0, "id": "call_1", "function": {"name": "time", "arguments": {"zone": "UTC"}}}
    api = MockAPI(stream(calls_chunk(entry)))
    [call, _] = await collect(api, time)
    assert isinstance(call, ToolCall) and json.loads(call.arguments) == {"zone": "UTC"}


async def test_a_call_without_arguments_gets_an_empty_object(time: FakeTime) -> None:
    api = MockAPI(stream(calls_chunk(piece(0, "call_1", "time"))))
    assert await collect(api, time) == [ToolCall("call_1", "time", "{}"), Usage(20, 9)]


async def test_only_the_first_choices_calls_count(time: FakeTime) -> None:
    other = {"index": 1, "delta": {"tool_calls": [piece(0, "x", "time", "{}")]}}
    mine = calls_chunk(piece(0, "call_1", "time", "{}"))
    mine["choices"].append(other)
    api = MockAPI(stream(mine))
    assert await collect(api, time) == [ToolCall("call_1", "time", "{}"), Usage(20, 9)]


# -- hostile or broken answers ------------------------------------------------------------------


async def test_as_many_calls_as_allowed_is_fine(time: FakeTime) -> None:
    pieces = [piece(i, f"call_{i}", "time", "{}") for i in range(MAX_TOOL_CALLS)]
    api = MockAPI(stream(calls_chunk(*pieces)))
    items = await collect(api, time)
    assert [item.id for item in items if isinstance(item, ToolCall)] == [
        f"call_{i}" for i in range(MAX_TOOL_CALLS)
    ]


async def test_too_many_calls_are_refused(time: FakeTime) -> None:
    pieces = [piece(i, f"call_{i}", "time", "{}") for i in range(MAX_TOOL_CALLS + 1)]
    api = MockAPI(stream(text_chunk("on it"), calls_chunk(*pieces)))
    items, message = await malformed(api, time)
    assert f"more than {MAX_TOOL_CALLS} tool calls" in message
    assert not [item for item in items if isinstance(item, ToolCall)]


async def test_arguments_as_long_as_allowed_are_fine(time: FakeTime) -> None:
    arguments = '{"q": "' + "x" * (MAX_ARGUMENTS - 9) + '"}'
    assert len(arguments) == MAX_ARGUMENTS
    parts = split(arguments, 4096)
    api = MockAPI(stream(*(calls_chunk(piece(0, "c", "time", part)) for part in parts)))
    [call, _] = await collect(api, time)
    assert isinstance(call, ToolCall) and call.arguments == arguments


async def test_too_long_arguments_are_refused(time: FakeTime) -> None:
    parts = split("x" * (MAX_ARGUMENTS + 1), 4096)
    api = MockAPI(stream(*(calls_chunk(piece(0, "c", "time", part)) for part in parts)))
    items, message = await malformed(api, time)
    assert f"longer than {MAX_ARGUMENTS} characters" in message and items == []


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (piece(0, None, "time", "{}"), "no id"),
        (piece(0, "call_1", None, "{}"), "no function name"),
        (piece(0, "", "time", "{}"), "no id"),
        (piece(-1, "call_1", "time", "{}"), "invalid index"),
        ({"index": "0", "id": "c", "function": {"name": "time"}}, "invalid index"),
        ({"index": True, "id": "c", "function": {"name": "time"}}, "invalid index"),
        ({"index": 0, "id": "c", "function": "time()"}, "function is not an object"),
        ("call time", "not an object"),
    ],
)
async def test_malformed_calls(time: FakeTime, entry: object, words: str) -> None:
    api = MockAPI(stream(text_chunk("hm"), calls_chunk(entry)))  # type: ignore[arg-type]
    items, message = await malformed(api, time)
    assert words in message
    assert items == ["hm"]  # the text went out; no call, no usage


async def test_tool_calls_that_are_not_a_list_are_malformed(time: FakeTime) -> None:
    chunk = {"choices": [{"index": 0, "delta": {"tool_calls": {"index": 0}}}]}
    _, message = await malformed(MockAPI(stream(chunk)), time)
    assert "tool_calls is not a list" in message


async def test_null_tool_calls_are_none(time: FakeTime) -> None:
    # vLLM sends "tool_calls": null on text chunks.
    chunk = {"choices": [{"index": 0, "delta": {"content": "noon", "tool_calls": None}}]}
    assert await collect(MockAPI(stream(chunk)), time) == ["noon", Usage(20, 9)]


async def test_a_cut_off_stream_passes_on_no_call(time: FakeTime) -> None:
    role = {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
    api = MockAPI(sse(role, calls_chunk(piece(0, "call_1", "time", '{"zone": "U')), done=False))
    items, message = await malformed(api, time)
    assert "cut off" in message and items == []


# -- answers that are not streamed --------------------------------------------------------------


def completion(message: dict[str, Any]) -> httpx.Response:
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls"}
    return httpx.Response(200, json={"choices": [choice], "usage": USAGE})


async def test_complete_message_has_the_tool_calls(time: FakeTime) -> None:
    wire = [
        {"id": "call_1", "type": "function", "function": {"name": "time", "arguments": "{}"}},
        {"id": "call_2", "function": {"name": "time", "arguments": '{"zone": "UTC"}'}},
    ]
    api = MockAPI(completion({"role": "assistant", "content": None, "tool_calls": wire}))
    answer = await make_model(api, time).complete_message(MESSAGES, PARAMS)
    assert answer == Completion(
        "", (ToolCall("call_1", "time", "{}"), ToolCall("call_2", "time", '{"zone": "UTC"}')),
        Usage(20, 9),
    )
    assert api.body()["stream"] is False and api.body()["tools"][0]["function"]["name"] == "time"


async def test_complete_message_refuses_a_call_without_id(time: FakeTime) -> None:
    wire = [{"type": "function", "function": {"name": "time", "arguments": "{}"}}]
    api = MockAPI(completion({"role": "assistant", "content": None, "tool_calls": wire}))
    with pytest.raises(MalformedResponseError, match="no id"):
        await make_model(api, time).complete_message(MESSAGES, PARAMS)


async def test_complete_message_refuses_too_many_calls(time: FakeTime) -> None:
    wire = [{"id": f"c{i}", "function": {"name": "time"}} for i in range(MAX_TOOL_CALLS + 1)]
    api = MockAPI(completion({"role": "assistant", "content": None, "tool_calls": wire}))
    with pytest.raises(MalformedResponseError, match="more than"):
        await make_model(api, time).complete_message(MESSAGES, PARAMS)


async def test_complete_keeps_its_text_and_usage_shape(time: FakeTime) -> None:
    api = MockAPI(completion({"role": "assistant", "content": "noon"}))
    assert await make_model(api, time).complete(MESSAGES, PARAMS) == ("noon", Usage(20, 9))
