"""A real MCP server over stdio, as a child process: its tools, calls, errors, death and return.

One server (and one ``McpServers``) serves the whole module: starting Python with the SDK
takes about a second.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass

import pytest
import pytest_asyncio

from core.tools.mcp import McpServerError, McpServers, ServerTimings, parse_config
from core.tools.registry import ToolRegistry
from tests.core.tools.mcp.fake_servers import config_text, demo_script, stdio_entry, until

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

TIMINGS = ServerTimings(start_seconds=20, call_seconds=1.0, ping_seconds=60, backoff_first=0.05, backoff_max=0.2)


@dataclass
class Running:
    servers: McpServers
    registry: ToolRegistry


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo(tmp_path_factory):
    os.environ["CHATWRIGHT_TEST_SECRET"] = "the bot's own secret"  # must not reach the child
    script = demo_script(tmp_path_factory.mktemp("mcp"))
    entry = stdio_entry(script, env={"GREETING": "${TEST_GREETING:-hello from the config}"})
    registry = ToolRegistry()
    async with McpServers(parse_config(config_text(demo=entry), "test"), registry, TIMINGS) as servers:
        await until(servers, lambda: "demo.echo" in registry.names())
        os.environ.pop("CHATWRIGHT_TEST_SECRET")
        yield Running(servers, registry)


async def call(demo: Running, tool_name: str, **arguments) -> str:
    tool = demo.registry.get(tool_name)
    assert tool is not None, f"{tool_name} is not in the registry: {demo.registry.names()}"
    return await tool.call(arguments)


async def test_tools_join_the_registry_as_server_dot_tool(demo):
    assert demo.registry.names() == [
        "demo.chart", "demo.echo", "demo.env", "demo.fail", "demo.grow", "demo.pid", "demo.slow"]
    echo = demo.registry.get("demo.echo").info
    assert echo.source == "mcp:demo" and echo.description == "Say the text back."
    assert echo.parameters["type"] == "object" and echo.parameters["required"] == ["text"]
    assert demo.registry.get("demo__echo") is demo.registry.get("demo.echo")  # the model's spelling
    [status] = demo.servers.statuses()
    assert (status.state, status.error, status.tools) == ("up", None, tuple(demo.registry.names()))
    assert status.where.startswith("stdio: ") and "demo_server.py" not in status.where


async def test_a_call_returns_the_servers_text(demo):
    assert await call(demo, "demo.echo", text="hi there") == "echo: hi there"


async def test_a_failing_tool_is_an_error_text_not_an_exception(demo):
    assert await call(demo, "demo.fail", reason="the disk is full") == "error: Error executing tool fail: the disk is full"


async def test_an_image_is_named_not_dumped(demo):
    text = await call(demo, "demo.chart")
    assert text == "a chart\n[image: image/png, 108 bytes, not shown]"


async def test_the_child_gets_its_env_not_the_bots_secrets(demo):
    assert await call(demo, "demo.env", name="GREETING") == "hello from the config"
    assert await call(demo, "demo.env", name="CHATWRIGHT_TEST_SECRET") == "<unset>"
    assert await call(demo, "demo.env", name="PATH") != "<unset>"


async def test_a_call_longer_than_the_limit_fails_plainly(demo):
    with pytest.raises(McpServerError, match="demo.*Timed out"):
        await call(demo, "demo.slow", seconds=30)
    assert await call(demo, "demo.echo", text="still here") == "echo: still here"


async def test_a_changed_tool_list_is_followed(demo):
    await call(demo, "demo.grow")
    await until(demo.servers, lambda: "demo.extra" in demo.registry.names())
    assert await call(demo, "demo.extra") == "extra!"
    await call(demo, "demo.grow", more=False)
    await until(demo.servers, lambda: "demo.extra" not in demo.registry.names())
    assert "demo.echo" in demo.registry.names()


async def test_a_killed_server_leaves_the_registry_and_comes_back(demo, caplog):
    first = int(await call(demo, "demo.pid"))
    pending = asyncio.create_task(call(demo, "demo.slow", seconds=30))
    await asyncio.sleep(0)  # the call is on its way before the kill
    os.kill(first, signal.SIGKILL)

    await until(demo.servers, lambda: "demo.echo" not in demo.registry.names())
    with pytest.raises(McpServerError):
        await pending
    await until(demo.servers, lambda: "demo.echo" in demo.registry.names())

    assert int(await call(demo, "demo.pid")) != first
    [stopped] = [r for r in caplog.records if "stopped" in r.getMessage()]
    assert stopped.levelname == "WARNING" and stopped.exc_info is None
    assert stopped.getMessage().startswith("mcp server 'demo' (stdio: ")
    assert "the connection closed; trying again in 0.05 s" in stopped.getMessage()
