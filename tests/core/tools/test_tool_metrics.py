"""``chatwright_tool_calls``: one count per call, by tool and outcome."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from core.tools.policy import ToolLimits
from core.tools.registry import ToolRegistry
from core.tools.runner import UNKNOWN_TOOL, run_calls
from core.types import ToolCall
from tests.fakes.tools import FunctionTool, GatedTool

LIMITS = ToolLimits(call_timeout=5.0, total_timeout=60.0, max_output_chars=100)


def counted(tool: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("chatwright_tool_calls_total", {"tool": tool, "outcome": outcome}) or 0.0


def boom(args: object) -> str:
    raise RuntimeError("no")


@pytest.mark.parametrize(("name", "arguments", "enabled", "label", "outcome"), [
    ("m_ok", "{}", {"m_ok"}, "m_ok", "ok"),
    ("m_boom", "{}", {"m_boom"}, "m_boom", "error"),
    ("m_ok", "[1]", {"m_ok"}, "m_ok", "error"),  # arguments not an object
    ("m_ok", "{}", set(), "m_ok", "refused"),  # not enabled in this channel
    ("made_up_by_the_model", "{}", {"m_ok"}, UNKNOWN_TOOL, "refused"),  # never a label of its own
])
async def test_each_call_is_counted_by_tool_and_outcome(name, arguments, enabled, label, outcome):
    registry = ToolRegistry([FunctionTool("m_ok", lambda args: "fine"), FunctionTool("m_boom", boom)])
    before = counted(label, outcome)
    far = asyncio.get_running_loop().time() + 60
    await run_calls([ToolCall("c1", name, arguments)], registry, enabled, LIMITS, far)
    assert counted(label, outcome) == before + 1
    assert counted("made_up_by_the_model", "refused") == 0


async def test_a_call_stopped_by_its_timeout_or_the_answers_deadline_is_a_timeout():
    registry = ToolRegistry([GatedTool("m_slow")])  # never released
    before = counted("m_slow", "timeout")
    now = asyncio.get_running_loop().time()
    quick = ToolLimits(call_timeout=0.01, total_timeout=60.0, max_output_chars=100)
    await run_calls([ToolCall("c1", "m_slow", "{}")], registry, {"m_slow"}, quick, now + 60)
    await run_calls([ToolCall("c2", "m_slow", "{}")], registry, {"m_slow"}, LIMITS, now - 1)  # time is up
    assert counted("m_slow", "timeout") == before + 2
