"""The MCP_CONFIG file: the common format, ${VAR} expansion, one-line errors without values."""

from __future__ import annotations

import json

import pytest

from core.errors import ConfigurationError
from core.tools.mcp import HttpServer, StdioServer, load_config, parse_config
from core.tools.mcp.server import tool_name
from core.tools.mcp.servers import secret_values
from core.tools.registry import wire_name

ENV = {"GITHUB_TOKEN": "ghp-secret-value-123", "DATA": "/srv/data"}


def parse(servers: object, environ: dict[str, str] = ENV):
    return parse_config(json.dumps({"mcpServers": servers}), "mcp.json", environ)


def problem(servers: object, environ: dict[str, str] = ENV) -> str:
    with pytest.raises(ConfigurationError) as caught:
        parse(servers, environ)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_stdio_and_http_servers_in_the_common_format():
    files, github = parse({
        "files": {"command": "npx", "args": ["-y", "server-filesystem", "${DATA}"], "env": {"LEVEL": "info"}},
        "github": {"url": "https://api.example.com/mcp?key=${GITHUB_TOKEN}",
                   "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"}},
    })
    assert files == StdioServer(name="files", command="npx", args=["-y", "server-filesystem", "/srv/data"],
                                env={"LEVEL": "info"})
    assert isinstance(github, HttpServer)
    assert github.headers == {"Authorization": "Bearer ghp-secret-value-123"}
    assert github.url == "https://api.example.com/mcp?key=ghp-secret-value-123"
    # What may be shown: no query, no args, no headers.
    assert (files.where, github.where) == ("stdio: npx", "http: https://api.example.com/mcp")
    assert "Bearer ghp-secret-value-123" in secret_values([files, github])
    assert "key=ghp-secret-value-123" in secret_values([github])


def test_defaults_type_disabled_and_other_clients_fields():
    servers = parse(environ={"EMPTY": ""}, servers={
        "a": {"type": "stdio", "command": "${MISSING_CMD:-uvx}", "alwaysAllow": ["x"],
              "args": ["${EMPTY:-fallback}", "[${EMPTY}]"]},
        "b": {"type": "http", "url": "http://127.0.0.1:8000/mcp"},
        "c": {"command": "never", "disabled": True},
    })
    assert [s.name for s in servers] == ["a", "b"]
    assert (servers[0].command, servers[0].args) == ("uvx", ["fallback", "[]"])


@pytest.mark.parametrize(("servers", "expected"), [
    ({"git hub": {"command": "x"}}, "server 'git hub': a server's name must be 1 to 64 letters"),
    ({"a.b": {"command": "x"}}, "server 'a.b': a server's name"),
    ({"s": {"command": "x", "url": "http://h"}}, "server 's': give either a command (stdio) or a url (HTTP), not both"),
    ({"s": {"args": ["x"]}}, "server 's': needs a command (stdio) or a url (streamable HTTP)"),
    ({"s": "npx"}, "server 's': expected an object"),
    ({"s": {"command": "x", "args": "-y"}}, "server 's': args: Input should be a valid list"),
    ({"s": {"command": "x", "args": ["ok", 5]}}, "server 's': args[1]: Input should be a valid string"),
    ({"s": {"command": "x", "env": {"A": 1}}}, "server 's': env.A: Input should be a valid string"),
    ({"s": {"url": "ftp://h"}}, "server 's': url must start with http:// or https://"),
    ({"s": {"type": "sse", "url": "http://h"}}, "server 's': type: the SSE transport is not supported"),
    ({"s": {"type": "grpc", "url": "http://h"}}, "server 's': type: expected 'stdio' or 'http'"),
    ({"s": {"command": "${EMPTY}"}}, "server 's': command is empty"),
])
def test_each_problem_is_one_line_naming_the_server_and_field(servers, expected):
    message = problem(servers, {**ENV, "EMPTY": ""})
    assert message.startswith("MCP_CONFIG mcp.json: ")
    assert expected in message


def test_an_unset_variable_is_named_and_no_value_is_shown():
    message = problem({"gh": {"url": "https://h/mcp", "headers": {"Authorization": "Bearer ${NOT_SET}"}}})
    assert message == "MCP_CONFIG mcp.json: server 'gh': headers.Authorization refers to ${NOT_SET}, which is not set"
    invalid = problem({"gh": {"url": "https://h/mcp", "headers": {"X-Key": ["ghp-secret-value-123"]}}})
    assert "headers.X-Key" in invalid and "ghp-secret-value-123" not in invalid


def test_the_file_itself(tmp_path):
    path = tmp_path / "mcp.json"
    with pytest.raises(ConfigurationError, match=r"mcp.json: cannot read it"):
        load_config(path)
    path.write_text('{"mcpServers": {"a": {"command": "x",}}}')
    with pytest.raises(ConfigurationError, match=r"mcp.json: not valid JSON \(.* at line 1, column \d+\)"):
        load_config(path)
    path.write_text('{"servers": {}}')
    with pytest.raises(ConfigurationError, match=r'expected an object \{"mcpServers"'):
        load_config(path)
    path.write_text('{"mcpServers": {"a": {"command": "x"}}}')
    assert [s.name for s in load_config(path)] == ["a"]


def test_tool_names_are_registry_safe_and_fit_the_api():
    assert tool_name("github", "search_issues") == "github.search_issues"
    assert tool_name("fs", "read file/v2.1") == "fs.read_file_v2_1"
    long = tool_name("server", "x" * 100)
    assert len(wire_name(long)) == 64 and long.startswith("server.xxx")
