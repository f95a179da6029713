"""End to end: while a tool runs, the Discord answer's message shows which (edited in),
and the final answer replaces it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.tools.policy import ToolLimits
from tests.fakes.discord_server import DM_CHANNEL, MEMBER, FakeDiscord
from tests.fakes.openai_server import Answer, CallTools
from tests.fakes.tools import GatedTool

pytestmark = pytest.mark.e2e


async def test_the_message_shows_the_running_tool_and_the_answer_replaces_it(
    bot, discord_fake: FakeDiscord, model_fake
) -> None:
    engine, _ = bot
    lookup = GatedTool("lookup", "42")
    engine.tools.add(lookup)
    engine.config = replace(engine.config, tools=ToolLimits(default=frozenset({"lookup"})))
    model_fake.script(CallTools([("c1", "lookup", "{}")], text="Let me look it up."), Answer("It is 42."))
    discord_fake.send_message(DM_CHANNEL, MEMBER, "what is it?")
    await lookup.started.wait()
    progress = "Let me look it up.\n\n*Running lookup…*"
    [message] = await discord_fake.wait_for(
        lambda: (ms := discord_fake.bot_messages(DM_CHANNEL)) and progress in ms[0].edits and ms)
    assert message.content == progress
    lookup.release()
    await discord_fake.wait_for(lambda: message.content == "Let me look it up.\n\nIt is 42.")
    assert [m.content for m in discord_fake.bot_messages(DM_CHANNEL)] == ["Let me look it up.\n\nIt is 42."]
    sent = model_fake.requests[-1]["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": "c1", "content": "42"}
