"""End to end: while a tool runs, Slack shows which (in the placeholder, or as a native
stream's thread status), and the final answer replaces it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.engine import Engine
from core.tools.policy import ToolLimits
from tests.adapters.slack.harness import SlackStack, mention, slack_stack
from tests.fakes.openai_server import Answer, CallTools
from tests.fakes.tools import GatedTool

pytestmark = pytest.mark.e2e


def with_tool(engine: Engine, tool: GatedTool) -> None:
    """The tool in the registry and enabled everywhere (as ``TOOLS_ENABLED`` does)."""
    engine.tools.add(tool)
    engine.config = replace(engine.config, tools=ToolLimits(default=frozenset({tool.info.name})))


def running_line(stack: SlackStack, channel: str, thread_ts: str) -> list[str]:
    return [text for m in stack.slack.thread(channel, thread_ts) for text in m.history if "Running lookup" in text]


async def test_the_placeholder_shows_the_running_tool_and_the_answer_replaces_it(tmp_path):
    async with slack_stack(tmp_path) as stack:
        lookup = GatedTool("lookup", "42")
        with_tool(stack.engine, lookup)
        stack.model.script(CallTools([("c1", "lookup", "{}")], text="Let me look it up."), Answer("It is 42."))
        await stack.send(mention("what is it?", "930.000001"))
        await lookup.started.wait()
        # Shown in the placeholder at once, then, once edits are allowed, under the words so far.
        await stack.slack.wait_for(lambda: "Let me look it up.\n\n_Running lookup…_" in running_line(
            stack, "C1", "930.000001"), timeout=5)
        [message] = stack.slack.thread("C1", "930.000001")
        assert message.history[0] == "_Running lookup…_"
        lookup.release()
        final = "Let me look it up.\n\nIt is 42."
        await stack.slack.wait_for(lambda: stack.slack.bot_texts("C1", "930.000001") == [final], timeout=5)
        assert "Running" not in message.text and "_Thinking" not in message.text
        # The model was sent the tool's result with its call.
        sent = stack.model.requests[-1]["messages"]
        assert sent[-1] == {"role": "tool", "tool_call_id": "c1", "content": "42"}


async def test_a_native_stream_shows_the_running_tool_as_the_threads_status(tmp_path):
    async with slack_stack(tmp_path, slack_native_streaming=True) as stack:
        lookup = GatedTool("lookup", "42")
        with_tool(stack.engine, lookup)
        stack.model.script(CallTools([("c1", "lookup", "{}")]), Answer("It is 42.\n"))
        await stack.send(mention("what is it?", "931.000001"))
        await lookup.started.wait()
        await stack.slack.wait_for(lambda: len(stack.slack.statuses) >= 2, timeout=5)
        shown = [(s["channel_id"], s["thread_ts"], s["status"]) for s in stack.slack.statuses[:2]]
        # "is thinking…" from the start (adapters/slack/assistant.py), then the tool.
        assert shown == [("C1", "931.000001", "is thinking…"), ("C1", "931.000001", "Running lookup…")]
        lookup.release()
        await stack.slack.wait_for(lambda: [m for m in stack.slack.thread("C1", "931.000001")
                                            if not m.streaming and m.text == "It is 42.\n"], timeout=5)
        assert stack.slack.statuses[-1]["status"] == ""  # cleared when the words came
        assert all("Running" not in m.text for m in stack.slack.thread("C1", "931.000001"))
