"""``chatwright doctor`` lists each MCP server of MCP_CONFIG, whether it started, and its tools."""

from __future__ import annotations

import json

import pytest

from bots.doctor import mcp_checks
from tests.bots.test_cli_e2e import api, chatwright, env_for  # noqa: F401 - api is a fixture
from tests.core.tools.mcp.fake_servers import demo_script, stdio_entry

pytestmark = pytest.mark.e2e

SECRET = "s3cret-mcp-token-42"


def mcp_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("[") and "] mcp " in line]


async def test_doctor_lists_each_server_and_its_tools(tmp_path, api):
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {
        "demo": stdio_entry(demo_script(tmp_path), env={"TOKEN": "${DEMO_TOKEN}"}),
        "broken": {"command": "/nonexistent/mcp-server", "args": ["--token", "${DEMO_TOKEN}"]},
    }}))
    env = env_for(tmp_path, api, MCP_CONFIG=str(config), DEMO_TOKEN=SECRET)

    result = await chatwright(tmp_path, env, "doctor")

    assert result.code == 1  # a configured server that does not start is a failure
    demo, broken = mcp_lines(result.out)
    assert demo.startswith("[ ok ] mcp server demo: started (stdio: ")
    assert demo.endswith("7 tools: demo.chart, demo.echo, demo.env, demo.fail, demo.grow, demo.pid, demo.slow")
    # (uvloop, which the command runs on, leaves the file name out of the error)
    assert broken.startswith("[FAIL] mcp server broken: did not start (stdio: /nonexistent/mcp-server): "
                             "FileNotFoundError: [Errno 2] No such file or directory")
    assert "1 check(s) failed: mcp server broken" in result.out
    assert SECRET not in result.out + result.err
    assert "Traceback" not in result.out + result.err


async def test_doctor_without_mcp_config_or_with_a_bad_one(tmp_path):
    assert [(c.name, c.status, c.detail) for c in await mcp_checks(None)] == [
        ("mcp servers", "skip", "not configured (MCP_CONFIG unset)")]
    config = tmp_path / "mcp.json"
    config.write_text('{"mcpServers": {"x": {"url": "https://h/mcp", "headers": {"K": "${UNSET_FOR_TEST}"}}}}')
    [check] = await mcp_checks(config)
    assert (check.name, check.status) == ("mcp servers", "fail")
    assert check.detail == (f"MCP_CONFIG {config}: server 'x': headers.K refers to ${{UNSET_FOR_TEST}}, "
                            "which is not set")
    config.write_text('{"mcpServers": {"x": {"command": "y", "disabled": true}}}')
    [check] = await mcp_checks(config)
    assert check.status == "skip" and "names no enabled server" in check.detail
