"""Servers that cannot start are reported in one line and retried; stopping ends every child."""

from __future__ import annotations

import logging
import os
import sys
import time

import pytest

from core.tools.mcp import McpServers, ServerTimings, parse_config
from core.tools.registry import ToolRegistry
from tests.core.tools.mcp.fake_servers import config_text, demo_script, stdio_entry, until

pytestmark = pytest.mark.e2e

FAST = ServerTimings(start_seconds=0.5, call_seconds=5, ping_seconds=60, backoff_first=0.02, backoff_max=0.05)


def python(code: str, **extra: object) -> dict[str, object]:
    return {"command": sys.executable, "args": ["-c", code], **extra}


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_servers_that_cannot_start_are_one_line_each_and_tried_again(caplog):
    caplog.set_level(logging.DEBUG, logger="core.tools.mcp")
    config = config_text(
        missing={"command": "/nonexistent/mcp-server", "env": {"TOKEN": "s3cret-token-value"}},
        quits=python("import os, sys; print('refused', os.environ['TOKEN'], file=sys.stderr); sys.exit(3)",
                     env={"TOKEN": "s3cret-token-value"}),
        mute=python("import sys; sys.stdin.read()"),  # reads, never answers, leaves at EOF
    )
    registry = ToolRegistry()
    async with McpServers(parse_config(config, "test"), registry, FAST) as servers:
        await until(servers, lambda: all(s.failures >= 2 for s in servers.statuses()))
        errors = {s.name: s.error for s in servers.statuses()}
        assert registry.names() == []

    assert "No such file or directory" in errors["missing"]
    # Its last words, with its secret masked; raw stderr never reaches the bot's own.
    assert errors["quits"] == "Connection closed (its stderr: refused [redacted])"
    assert errors["mute"] == "no answer within 0.5 s"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    for name in ("missing", "quits", "mute"):
        first = next(r for r in warnings if r.getMessage().startswith(f"mcp server {name!r}"))
        assert f"failed to start: {errors[name]}; trying again in 0.02 s" in first.getMessage()
    assert all("\n" not in r.getMessage() and r.exc_info is None for r in warnings)
    assert {s.state for s in servers.statuses()} == {"stopped"}
    assert "s3cret-token-value" not in caplog.text


async def test_stopping_ends_every_child_promptly_even_one_still_starting(tmp_path):
    pid_file = tmp_path / "stuck.pid"
    # Started, never answers, ignores the end of its stdin: only a signal ends it.
    stuck = python(f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)")
    config = config_text(demo=stdio_entry(demo_script(tmp_path)), stuck=stuck)
    registry = ToolRegistry()
    timings = ServerTimings(start_seconds=30, stop_seconds=5)
    servers = McpServers(parse_config(config, "test"), registry, timings)
    await servers.start()
    await until(servers, lambda: "demo.pid" in registry.names())
    # The stuck one wrote its pid in its first milliseconds; the demo took a second to start.
    pids = [int(await registry.get("demo.pid").call({})), int(pid_file.read_text())]

    began = time.monotonic()
    await servers.aclose()
    took = time.monotonic() - began
    await servers.aclose()  # a second close is harmless

    assert not any(is_running(pid) for pid in pids)
    assert took < timings.stop_seconds  # the SDK's 2 s wait, then SIGTERM: not cancelled
    assert registry.names() == []
    assert [s.state for s in servers.statuses()] == ["stopped", "stopped"]
