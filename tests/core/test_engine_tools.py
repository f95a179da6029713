"""The engine's tool loop, driven by ``ScriptedChatModel`` (no HTTP): tools run, their
results go back to the model, the loop is bounded, steps are stored and remembered."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from core import tool_steps
from core.engine import Engine, EngineConfig
from core.tool_steps import THINKING, TOOLS_EXHAUSTED
from core.model.fake import Calls, ScriptedChatModel
from core.tokens import EstimatingCounter
from core.tools.policy import ToolLimits
from core.tools.registry import ToolRegistry
from core.types import ChatMessage, ChatParams, NewTurn, Persona, ToolCall, Usage
from tests.core.conftest import CHANNEL, message
from tests.fakes.tools import FunctionTool, GatedTool

DEFAULT = Persona(system_prompt="You are the default.")
DAY = date(2026, 11, 22)


def make_engine(store, model, tools=(), enabled=None, **limits) -> Engine:
    registry = ToolRegistry(tools)
    default = frozenset(enabled if enabled is not None else registry.names())
    return Engine(
        store=store, model=model, tools=registry, counter=EstimatingCounter(), today=lambda: DAY,
        config=EngineConfig(default_persona=DEFAULT, model="m", tools=ToolLimits(default=default, **limits)),
    )


def time_tool() -> FunctionTool:
    return FunctionTool("time", lambda args: "12:00")


def asks(*names: str, text: str = "") -> Calls:
    return Calls([ToolCall(f"call-{i}", name, "{}") for i, name in enumerate(names)], text)


async def answer(engine: Engine, msg) -> str:
    async with engine.reply(msg) as reply:
        return "".join([delta async for delta in reply])


async def test_the_model_calls_a_tool_and_answers_with_its_result(memory_store):
    model = ScriptedChatModel([asks("time"), "It is noon."])
    engine = make_engine(memory_store, model, [time_tool()])
    assert await answer(engine, message("what time is it?")) == "It is noon."
    first, second = model.calls
    assert [spec.name for spec in first[1].tools] == ["time"]
    assert second[0][-2:] == [
        ChatMessage("assistant", "", (), (ToolCall("call-0", "time", "{}"),)),
        ChatMessage("tool", "12:00", (), (), "call-0"),
    ]


async def test_two_calls_of_one_step_run_at_the_same_time(memory_store):
    first, second = GatedTool("first", "one"), GatedTool("second", "two")
    model = ScriptedChatModel([asks("first", "second"), "both done"])
    engine = make_engine(memory_store, model, [first, second])

    async def release_when_both_started() -> None:
        # Each call waits for its gate: both can have started only if they run together.
        await first.started.wait()
        await second.started.wait()
        first.release()
        second.release()

    releasing = asyncio.create_task(release_when_both_started())
    # Run one after the other, the first would wait for ever: fail fast instead.
    assert await asyncio.wait_for(answer(engine, message("go")), timeout=5) == "both done"
    await releasing
    results = [(m.tool_call_id, m.content) for m in model.calls[1][0] if m.role == "tool"]
    assert results == [("call-0", "one"), ("call-1", "two")]


@pytest.mark.parametrize("tool, expected", [
    (None, "error: there is no tool 'nope' here"),
    (FunctionTool("nope", lambda args: 1 / 0), "error: tool 'nope' failed: division by zero"),
])
async def test_an_unknown_or_failing_tool_is_an_error_the_model_reads(memory_store, tool, expected):
    model = ScriptedChatModel([asks("nope"), "Sorry, that did not work."])
    tools = [tool] if tool else [time_tool()]
    engine = make_engine(memory_store, model, tools)
    assert await answer(engine, message("go")) == "Sorry, that did not work."
    [result] = [m for m in model.calls[1][0] if m.role == "tool"]
    assert result.content.startswith(expected)


async def test_a_tool_that_never_finishes_is_stopped_at_its_timeout(memory_store):
    stuck = GatedTool("stuck")  # never released
    model = ScriptedChatModel([asks("stuck"), "It took too long."])
    engine = make_engine(memory_store, model, [stuck], call_timeout=0.05)
    assert await answer(engine, message("go")) == "It took too long."
    [result] = [m for m in model.calls[1][0] if m.role == "tool"]
    assert result.content == "error: tool 'stuck' timed out after 0.05 s"
    assert stuck.cancelled.is_set()


async def test_a_model_that_always_calls_tools_gets_a_last_step_without_them(memory_store):
    def script(messages, params: ChatParams):
        return asks("time") if params.tools else "Enough looking: noon."

    model = ScriptedChatModel(script)
    engine = make_engine(memory_store, model, [time_tool()], max_steps=3)
    assert await answer(engine, message("go")) == "Enough looking: noon."
    assert [bool(params.tools) for _, params in model.calls] == [True, True, True, False]


async def test_a_model_that_asks_for_tools_even_without_them_is_stopped_with_a_plain_answer(memory_store):
    model = ScriptedChatModel(lambda messages, params: asks("time"))
    tool = time_tool()
    engine = make_engine(memory_store, model, [tool], max_steps=2)
    assert await answer(engine, message("go")) == TOOLS_EXHAUSTED
    assert len(model.calls) == 3 and len(tool.arguments) == 2
    turns = await memory_store.recent_turns(CHANNEL, 20)
    assert turns[-1].content == TOOLS_EXHAUSTED and not turns[-1].tool_calls


async def test_no_more_tool_steps_after_the_answers_time_for_tools(memory_store):
    stuck = GatedTool("stuck")
    model = ScriptedChatModel(lambda messages, params: asks("stuck") if params.tools else "Out of time.")
    engine = make_engine(memory_store, model, [stuck], total_timeout=0.05)
    assert await answer(engine, message("go")) == "Out of time."
    assert [bool(params.tools) for _, params in model.calls] == [True, False]
    [result] = [m for m in model.calls[1][0] if m.role == "tool"]
    assert "time for tools in this answer ran out" in result.content


async def test_steps_are_stored_whole_and_the_next_question_sees_the_result(memory_store):
    model = ScriptedChatModel([asks("time", text="Let me look."), "It is noon.", "You asked at noon."])
    engine = make_engine(memory_store, model, [time_tool()])
    shown = await answer(engine, message("what time is it?", event_id="E1"))
    # Text written beside the calls is part of the answer shown, set apart from the rest…
    assert shown == "Let me look.\n\nIt is noon."
    turns = await memory_store.recent_turns(CHANNEL, 10)
    assert [(t.role, t.content, t.tool_calls, t.tool_call_id) for t in turns] == [
        ("user", "name-U1: what time is it?", (), ""),
        ("assistant", "Let me look.", (ToolCall("call-0", "time", "{}"),), ""),
        ("tool", "12:00", (), "call-0"),
        ("assistant", "It is noon.", (), ""),  # …but each step is stored with its own text
    ]
    # A resumed answer finds the reply, not the step.
    _, reply = await memory_store.answer_turns(CHANNEL, "E1")
    assert reply is not None and reply.content == "It is noon."
    await answer(engine, message("when did I ask?"))
    history = [(m.role, m.content) for m in model.calls[-1][0]]
    assert ("tool", "12:00") in history
    assert history[-2:] == [("assistant", "It is noon."), ("user", "name-U1: when did I ask?")]


async def test_usage_counts_every_step(memory_store):
    model = ScriptedChatModel([asks("time"), asks("time"), "noon"])
    engine = make_engine(memory_store, model, [time_tool()])
    async with engine.reply(message("go")) as reply:
        async for _ in reply:
            pass
    # The fake model's usage: a quarter of the characters sent and written, plus one.
    arguments = len("{}")
    expected = Usage(
        sum(sum(len(m.content) for m in sent) // 4 + 1 for sent, _ in model.calls),
        (arguments // 4 + 1) * 2 + len("noon") // 4 + 1,
    )
    assert reply.usage == expected
    totals = await memory_store.usage(CHANNEL.channel_ref, DAY)
    assert totals.today == expected


async def test_the_status_says_which_tools_run_then_clears_when_words_come(memory_store):
    first, second = GatedTool("first"), GatedTool("github.search")
    model = ScriptedChatModel([asks("first", "github__search"), "done"])
    engine = make_engine(memory_store, model, [first, second])
    statuses: list[str] = []
    async with engine.reply(message("go")) as reply:
        async for delta in reply:
            statuses.append(reply.status)
            if reply.status.startswith("Running"):
                first.release()
                second.release()
    assert statuses[0] == "Running first, github.search…"
    assert THINKING in statuses
    assert statuses[-1] == "" and reply.status == ""
    assert reply.text == "done"


async def test_the_stream_wakes_its_reader_while_tools_run(memory_store, monkeypatch):
    monkeypatch.setattr(tool_steps, "STATUS_WAKE", 0.01)
    slow = GatedTool("slow")
    model = ScriptedChatModel([asks("slow"), "done"])
    engine = make_engine(memory_store, model, [slow])
    wakes = 0
    async with engine.reply(message("go")) as reply:
        async for delta in reply:
            if slow.started.is_set() and delta == "":
                wakes += 1
                if wakes == 3:
                    slow.release()
    assert wakes >= 3 and reply.text == "done"


async def test_closing_the_answer_before_its_tools_run_runs_none(memory_store):
    slow = GatedTool("slow")
    model = ScriptedChatModel([asks("slow"), "never"])
    engine = make_engine(memory_store, model, [slow])
    async with engine.reply(message("go")) as reply:
        async for _ in reply:
            if reply.status:
                break  # the adapter gave up (its platform failed)
    # Closed at the "" that announced the status, before the tools ran: they never do.
    for _ in range(10):
        await asyncio.sleep(0)
    assert not slow.started.is_set()


async def test_closing_the_answer_while_a_tool_waits_cancels_it(memory_store, monkeypatch):
    monkeypatch.setattr(tool_steps, "STATUS_WAKE", 0.01)
    slow = GatedTool("slow")
    engine = make_engine(memory_store, ScriptedChatModel([asks("slow"), "never"]), [slow])
    async with engine.reply(message("go")) as reply:
        async for _ in reply:
            if slow.started.is_set():
                break
    # The inner steps are closed as the loop finalizes them, a few iterations later.
    await asyncio.wait_for(slow.cancelled.wait(), timeout=2)


async def test_calls_without_ids_get_one_each(memory_store):
    model = ScriptedChatModel([Calls([ToolCall("", "time", "{}"), ToolCall("", "time", "{}")]), "ok"])
    engine = make_engine(memory_store, model, [time_tool()])
    await answer(engine, message("go"))
    sent = model.calls[1][0]
    ids = [call.id for call in sent[-3].tool_calls]
    assert len(set(ids)) == 2 and all(ids)
    assert [m.tool_call_id for m in sent[-2:]] == ids


async def test_without_enabled_tools_the_model_is_asked_as_before(memory_store):
    model = ScriptedChatModel(["plain"])
    engine = make_engine(memory_store, model, [time_tool()], enabled=())
    assert await answer(engine, message("hi")) == "plain"
    [(sent, params)] = model.calls
    assert params.tools == ()
    assert [(t.role, t.content) for t in await memory_store.recent_turns(CHANNEL, 10)] == [
        ("user", "name-U1: hi"), ("assistant", "plain")]


async def test_without_any_tools_the_store_is_not_asked_which_are_enabled(memory_store, monkeypatch):
    async def never(channel):
        raise AssertionError("read the channel's tools")

    monkeypatch.setattr(memory_store, "get_channel_tools", never)
    engine = make_engine(memory_store, ScriptedChatModel(["plain"]))
    assert await answer(engine, message("hi")) == "plain"


async def test_a_channels_choice_and_a_personas_tools_decide_what_the_model_is_offered(memory_store):
    model = ScriptedChatModel(["a", "b"])
    other = FunctionTool("other", lambda args: "x")
    engine = make_engine(memory_store, model, [time_tool(), other], enabled=("time",))
    await answer(engine, message("one"))
    await memory_store.set_channel_tools(CHANNEL.channel_ref, frozenset({"other"}), "U1", "admin")
    await answer(engine, message("two"))
    assert [[s.name for s in params.tools] for _, params in model.calls] == [["time"], ["other"]]


async def test_a_step_cut_by_the_budget_is_left_out_of_the_history(memory_store):
    # An older answer's step: a big call turn, then its result. A budget with room for
    # the result but not the call must send neither.
    await memory_store.add_turn(CHANNEL, NewTurn("user", "old question", 3))
    await memory_store.add_turn(CHANNEL, NewTurn("assistant", "", 500, tool_calls=(ToolCall("c1", "time", "{}"),)))
    await memory_store.add_turn(CHANNEL, NewTurn("tool", "12:00", 2, tool_call_id="c1"))
    await memory_store.add_turn(CHANNEL, NewTurn("assistant", "noon", 1))
    model = ScriptedChatModel(["ok"])
    engine = make_engine(memory_store, model, [time_tool()], enabled=())
    engine.config = EngineConfig(default_persona=DEFAULT, model="m", context_token_budget=60)
    await answer(engine, message("new"))
    [(sent, _)] = model.calls
    assert [(m.role, m.content) for m in sent] == [
        ("system", "You are the default."), ("assistant", "noon"), ("user", "name-U1: new")]


async def test_a_resumed_answer_runs_the_tool_loop_again_without_the_broken_step(memory_store):
    # A process stored the question and a step's call, then stopped before its result.
    await memory_store.add_turn(CHANNEL, NewTurn("user", "what time is it?", 4, "U1", "name-U1", event_id="E1"))
    await memory_store.add_turn(CHANNEL, NewTurn("assistant", "", 3, event_id="E1",
                                                 tool_calls=(ToolCall("old", "time", "{}"),)))
    model = ScriptedChatModel([asks("time"), "It is noon.", "Yes."])
    engine = make_engine(memory_store, model, [time_tool()])
    async with engine.reply(message("what time is it?", event_id="E1"), resumed=True) as reply:
        assert "".join([delta async for delta in reply]) == "It is noon."
    # Asked from the question, as when it came: the broken step is not sent.
    assert [m.role for m in model.calls[0][0]] == ["system", "user"]
    _, stored = await memory_store.answer_turns(CHANNEL, "E1")
    assert stored is not None and stored.content == "It is noon."
    # Later questions see the whole step of the re-run, never the broken one.
    await answer(engine, message("sure?"))
    sent = model.calls[-1][0]
    assert [(m.role, m.tool_call_id or [c.id for c in m.tool_calls]) for m in sent[1:-1]] == [
        ("user", []), ("assistant", ["call-0"]), ("tool", "call-0"), ("assistant", [])]
