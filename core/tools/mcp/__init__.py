"""MCP servers as sources of tools, through the official ``mcp`` SDK.

    servers = McpServers(load_config(path), registry, ServerTimings(call_seconds=30))
    async with servers:          # every server starts in a task of its own
        ...                      # their tools are in the registry as "server.tool"

- ``config.py``: the ``MCP_CONFIG`` file (``{"mcpServers": {...}}``), checked in one line.
- ``servers.py``: ``McpServers``, every configured server for the bot's life.
- ``server.py``: one server: connect, offer its tools, notice it go, retry with backoff.
- ``transport.py``: stdio (a child process) or streamable HTTP.
- ``stderr.py``: a child's stderr, into the log at DEBUG; its last line joins the report.
- ``content.py``: a tool's result as the text the model reads.
- ``backoff.py``: the waits between tries.

A server that fails to start or dies is one warning line and is tried again (1 s doubling
to 60 s); while it is down its tools are out of the registry. It never stops the bot.
"""

from core.tools.mcp.config import HttpServer, ServerConfig, StdioServer, load_config, parse_config
from core.tools.mcp.server import McpServerError, ServerStatus, ServerTimings
from core.tools.mcp.servers import McpServers, secret_values

__all__ = [
    "HttpServer",
    "McpServerError",
    "McpServers",
    "ServerConfig",
    "ServerStatus",
    "ServerTimings",
    "StdioServer",
    "load_config",
    "parse_config",
    "secret_values",
]
