"""``chatwright run`` with a plugin's tool and an MCP server's tool, as an operator sets it
up: PLUGINS, MCP_CONFIG and TOOLS_ENABLED in the environment, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adapters.slack.harness import mention
from tests.bot_process import BotProcess, slack_http_environment
from tests.core.tools.mcp.fake_servers import config_text, demo_script, stdio_entry
from tests.fakes.openai_server import Answer, CallTools, FakeOpenAIServer
from tests.fakes.slack_api import FakeSlackAPI, SignedSender

pytestmark = pytest.mark.e2e

KEY = "sk-tools-process-key"
REPOSITORY = Path(__file__).resolve().parents[2]


async def test_a_mention_is_answered_with_a_plugin_tool_and_an_mcp_tool(tmp_path):
    mcp_config = tmp_path / "mcp.json"
    mcp_config.write_text(config_text(demo=stdio_entry(demo_script(tmp_path))))
    async with FakeSlackAPI() as slack, FakeOpenAIServer(api_key=KEY) as model:
        model.script(
            CallTools([("c1", "time", '{"zone": "Asia/Tokyo"}'), ("c2", "demo__echo", '{"text": "ping"}')]),
            Answer("Both tools answered."),
        )
        env = slack_http_environment(slack.base_url, model.base_url, KEY, tmp_path)
        env.update(
            PYTHONPATH=str(REPOSITORY),  # where plugins/ lives; an operator runs from there
            PLUGINS="plugins.chatwright_example",
            MCP_CONFIG=str(mcp_config),
            TOOLS_ENABLED="time,demo.echo",
        )
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for_log("mcp server 'demo' is up", timeout=30)
            async with SignedSender(bot.events_url) as sender:
                await sender.event(mention("what time is it in Tokyo?", "1700000000.000200", channel="C1"))
                # The plugin's command too, from the same module.
                command = await sender.command("/time", "Europe/Paris")
            await slack.wait_for(
                lambda: any("Both tools answered." in t for t in slack.bot_texts("C1", "1700000000.000200")),
                timeout=30,
            )
            assert await bot.stop() == 0

    first, second = model.requests[0], model.requests[1]
    offered = sorted(tool["function"]["name"] for tool in first["tools"])
    assert offered == ["demo__echo", "time"]
    results = {m["tool_call_id"]: m["content"] for m in second["messages"] if m["role"] == "tool"}
    assert "Asia/Tokyo" in results["c1"] and results["c2"] == "echo: ping"
    log = bot.log_path.read_text()
    assert "Traceback" not in log and KEY not in log
    assert command.status == 200 and "Europe/Paris" in command.body, command.body
