"""``run_calls``: one step's calls, concurrent, bounded, and never raising for a call."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.tools.policy import ToolLimits
from core.tools.registry import ToolRegistry
from core.tools.runner import bounded, run_calls
from core.types import ToolCall
from tests.fakes.tools import FunctionTool, GatedTool

LIMITS = ToolLimits(call_timeout=5.0, total_timeout=60.0, max_output_chars=100)


def far() -> float:
    return asyncio.get_running_loop().time() + 60


def call(name: str, arguments: str = "{}", id: str = "c1") -> ToolCall:
    return ToolCall(id, name, arguments)


async def test_calls_of_one_step_run_at_the_same_time_and_results_keep_their_order():
    first, second = GatedTool("first", "one"), GatedTool("second", "two")
    registry = ToolRegistry([first, second])

    async def both_started_then_release() -> None:
        # Each waits for its gate: only calls that run together can both have started.
        await first.started.wait()
        await second.started.wait()
        second.release()
        first.release()

    releasing = asyncio.create_task(both_started_then_release())
    # Run one after the other, the first would wait for ever: fail fast instead.
    results = await asyncio.wait_for(run_calls([call("first", id="a"), call("second", id="b")], registry,
                                               {"first", "second"}, LIMITS, far()), timeout=5)
    await releasing
    assert results == ["one", "two"]


async def test_arguments_reach_the_tool_as_an_object():
    tool = FunctionTool("echo", lambda args: f"got {args['x']}")
    [result] = await run_calls([call("echo", '{"x": 3}')], ToolRegistry([tool]), {"echo"}, LIMITS, far())
    assert result == "got 3" and tool.arguments == [{"x": 3}]


async def test_empty_arguments_mean_none():
    tool = FunctionTool("time", lambda args: f"args={args}")
    assert await run_calls([call("time", "")], ToolRegistry([tool]), {"time"}, LIMITS, far()) == ["args={}"]


async def test_a_servers_tool_is_found_by_the_name_the_model_uses():
    tool = FunctionTool("github.search", lambda args: "found")
    [result] = await run_calls([call("github__search")], ToolRegistry([tool]), {"github.search"}, LIMITS, far())
    assert result == "found"


@pytest.mark.parametrize("name, enabled", [("nope", {"time"}), ("time", set())])
async def test_an_unknown_or_disabled_tool_is_an_error_for_the_model(name, enabled):
    tool = FunctionTool("time", lambda args: "noon")
    [result] = await run_calls([call(name)], ToolRegistry([tool]), enabled, LIMITS, far())
    assert result.startswith("error:") and repr(name) in result
    assert tool.arguments == []


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]", '"text"'])
async def test_arguments_that_are_not_an_object_are_an_error_for_the_model(arguments):
    tool = FunctionTool("time", lambda args: "noon")
    [result] = await run_calls([call("time", arguments)], ToolRegistry([tool]), {"time"}, LIMITS, far())
    assert result == "error: the arguments of tool 'time' must be a JSON object"
    assert tool.arguments == []


async def test_a_tool_that_raises_is_an_error_for_the_model_and_the_others_still_answer():
    def broken(args):
        raise RuntimeError("the disk is on fire")

    registry = ToolRegistry([FunctionTool("broken", broken), FunctionTool("fine", lambda a: "ok")])
    results = await run_calls([call("broken", id="a"), call("fine", id="b")], registry,
                              {"broken", "fine"}, LIMITS, far())
    assert results == ["error: tool 'broken' failed: the disk is on fire", "ok"]


async def test_a_tool_that_takes_too_long_is_stopped_with_an_error_for_the_model():
    slow = GatedTool("slow")  # never released
    limits = ToolLimits(call_timeout=0.05)
    [result] = await run_calls([call("slow")], ToolRegistry([slow]), {"slow"}, limits, far())
    assert result == "error: tool 'slow' timed out after 0.05 s"
    assert slow.cancelled.is_set()


async def test_the_answers_deadline_stops_a_call_sooner_than_its_own_timeout():
    slow = GatedTool("slow")
    deadline = asyncio.get_running_loop().time() + 0.05
    [result] = await run_calls([call("slow")], ToolRegistry([slow]), {"slow"}, LIMITS, deadline)
    assert "time for tools in this answer ran out" in result


async def test_no_call_starts_after_the_deadline():
    slow = GatedTool("slow")
    deadline = asyncio.get_running_loop().time() - 1
    [result] = await run_calls([call("slow")], ToolRegistry([slow]), {"slow"}, LIMITS, deadline)
    assert result.startswith("error:") and slow.calls == 0


async def test_a_tools_own_timeout_error_is_a_failure_not_ours():
    def times_out(args):
        raise TimeoutError("upstream took too long")

    [result] = await run_calls([call("t")], ToolRegistry([FunctionTool("t", times_out)]), {"t"}, LIMITS, far())
    assert result == "error: tool 't' failed: upstream took too long"


async def test_output_is_cut_to_the_limit_with_a_note():
    tool = FunctionTool("big", lambda args: "x" * 1000)
    [result] = await run_calls([call("big")], ToolRegistry([tool]), {"big"}, LIMITS, far())
    assert result.startswith("x" * 100 + "\n[cut:") and "1000 characters" in result
    assert "x" * 101 not in result


def test_bounded_keeps_short_text_as_it_is():
    assert bounded("short", 10) == "short"


async def test_cancelling_the_answer_cancels_the_calls():
    first, second = GatedTool("first"), GatedTool("second")
    running = asyncio.create_task(run_calls([call("first", id="a"), call("second", id="b")],
                                            ToolRegistry([first, second]), {"first", "second"}, LIMITS, far()))
    await first.started.wait()
    await second.started.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert first.cancelled.is_set() and second.cancelled.is_set()


async def test_arguments_and_results_are_logged_at_debug_only(caplog):
    tool = FunctionTool("lookup", lambda args: "the secret result")
    with caplog.at_level(logging.INFO, logger="core.tools.runner"):
        await run_calls([call("lookup", '{"q": "private words"}')], ToolRegistry([tool]), {"lookup"}, LIMITS, far())
    logged = caplog.text
    assert "lookup" in logged
    assert "private words" not in logged and "the secret result" not in logged
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="core.tools.runner"):
        await run_calls([call("lookup", '{"q": "private words"}')], ToolRegistry([tool]), {"lookup"}, LIMITS, far())
    assert "private words" in caplog.text and "the secret result" in caplog.text
