"""A real MCP server over streamable HTTP on loopback: headers, calls, a late start, a stop."""

from __future__ import annotations

import logging

import pytest

from core.tools.mcp import McpServers, ServerTimings, parse_config
from core.tools.registry import ToolRegistry
from tests.core.tools.mcp.fake_servers import HttpMcpServer, config_text, until

pytestmark = pytest.mark.e2e

TIMINGS = ServerTimings(start_seconds=10, call_seconds=5, ping_seconds=0.1, backoff_first=0.05, backoff_max=0.2)
# Without pings every 0.1 s: on a loaded machine a slow ping would take the server down
# in the middle of a test that is about calls, not about noticing a server gone.
STEADY = ServerTimings(start_seconds=10, call_seconds=5, ping_seconds=60, backoff_first=0.05, backoff_max=0.2)
TOKEN = "tok-0123456789abcdef"


def web_config(url: str) -> str:
    return config_text(web={"url": url, "headers": {"Authorization": "Bearer ${TEST_WEB_TOKEN}"}})


def ours(caplog: pytest.LogCaptureFixture) -> str:
    """chatwright's own log lines. The SDK's DEBUG lines show whole messages and URLs:
    in the bot they pass RedactSecrets, which masks the servers' secrets
    (``Settings.secret_values``, tested in tests/bots/test_settings.py)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("core."))


async def test_tools_calls_and_headers_over_http(caplog):
    caplog.set_level(logging.DEBUG, logger="core.tools.mcp")
    registry = ToolRegistry()
    async with HttpMcpServer() as web:
        configs = parse_config(web_config(web.url), "test", {"TEST_WEB_TOKEN": TOKEN})
        async with McpServers(configs, registry, STEADY) as servers:
            await until(servers, lambda: "web.add" in registry.names())

            assert registry.names() == ["web.add", "web.whoami"]
            assert registry.get("web.add").info.source == "mcp:web"
            assert await registry.get("web.add").call({"a": 2, "b": 40}) == "42"
            assert await registry.get("web.whoami").call({}) == f"Bearer {TOKEN}"
            assert (await registry.get("web.add").call({"a": "two"})).startswith("error: ")
            [status] = servers.statuses()
            assert status.where == f"http: {web.url}"

    assert TOKEN not in ours(caplog)


async def test_a_server_that_is_not_there_yet_is_retried_and_one_that_stops_is_withdrawn(caplog):
    registry = ToolRegistry()
    web = HttpMcpServer()  # its port refuses connections until it starts
    configs = parse_config(web_config(web.url + "?key=${TEST_WEB_TOKEN}"), "test", {"TEST_WEB_TOKEN": TOKEN})
    async with McpServers(configs, registry, TIMINGS) as servers:
        await until(servers, lambda: servers.statuses()[0].failures >= 2)
        assert registry.names() == []

        async with web:
            await until(servers, lambda: "web.add" in registry.names())
            assert await registry.get("web.add").call({"a": 1, "b": 1}) == "2"
            await web.stop()
            # A quiet HTTP server is noticed gone by the next ping.
            await until(servers, lambda: registry.names() == [] and servers.statuses()[0].error is not None)
            web.start()
            await until(servers, lambda: "web.add" in registry.names())

    failed = [r for r in caplog.records if "failed to start" in r.getMessage()]
    stopped = [r for r in caplog.records if " stopped: " in r.getMessage()]
    assert failed and stopped
    assert all(r.levelname == "WARNING" and r.exc_info is None for r in failed + stopped)
    assert failed[0].getMessage().startswith(f"mcp server 'web' (http: {web.url}) failed to start: ")
    assert "ConnectError" in failed[0].getMessage()
    assert TOKEN not in ours(caplog)
