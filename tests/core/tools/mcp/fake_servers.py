"""Real MCP servers for the tests, written with the ``mcp`` SDK's FastMCP.

- ``demo_script(folder)``: a stdio server as a script file, run by the client under test
  as a child process ("demo": echo, fail, pid, chart, slow, env, grow).
- ``HttpMcpServer``: a streamable HTTP server ("web": add, whoami) served by uvicorn in
  the test's own event loop on a loopback port; it can start late and stop.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn
from mcp.server.fastmcp import Context, FastMCP

from core.tools.mcp import McpServers

__all__ = ["DEMO", "HttpMcpServer", "config_text", "demo_script", "stdio_entry", "until"]

DEMO = '''
import os, sys
import anyio
from mcp.server.fastmcp import Context, FastMCP, Image

mcp = FastMCP("demo", log_level="WARNING")

@mcp.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return f"echo: {text}"

@mcp.tool()
def fail(reason: str) -> str:
    """Always fails."""
    raise ValueError(reason)

@mcp.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()

@mcp.tool()
def chart() -> list:
    """A caption and a picture."""
    return ["a chart", Image(data=b"\\x89PNG\\r\\n\\x1a\\n" + bytes(100), format="png")]

@mcp.tool()
async def slow(seconds: float) -> str:
    """Answers after a while."""
    await anyio.sleep(seconds)
    return "done"

@mcp.tool()
def env(name: str) -> str:
    """One variable of this process's environment."""
    return os.environ.get(name, "<unset>")

@mcp.tool()
async def grow(ctx: Context, more: bool = True) -> str:
    """Adds the tool "extra" (or takes it away), and tells the client."""
    if more:
        mcp.add_tool(lambda: "extra!", name="extra", description="Added later.")
    else:
        mcp.remove_tool("extra")
    await ctx.session.send_tool_list_changed()
    return "ok"

if __name__ == "__main__":
    mcp.run("stdio")
'''


def demo_script(folder: Path) -> Path:
    path = folder / "demo_server.py"
    path.write_text(DEMO, encoding="utf-8")
    return path


def stdio_entry(script: Path | str, *args: str, **extra: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(script), *args], **extra}


def config_text(**servers: dict[str, Any]) -> str:
    return json.dumps({"mcpServers": servers})


async def until(servers: McpServers, condition: Any, timeout: float = 20.0) -> None:
    """Wait for a status change that makes ``condition()`` true; fail after ``timeout``."""
    await asyncio.wait_for(servers.wait_until(condition), timeout)


def _web_app() -> Any:
    web = FastMCP("web", log_level="WARNING")

    @web.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @web.tool()
    def whoami(ctx: Context) -> str:
        """The Authorization header this call came with."""
        return ctx.request_context.request.headers.get("authorization", "<none>")

    return web.streamable_http_app()


class HttpMcpServer:
    """A streamable HTTP MCP server on 127.0.0.1. Its port is reserved from the start
    (connections are refused until ``start``), so a client can be configured first."""

    def __init__(self) -> None:
        self._socket = _bound_socket(0)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HttpMcpServer:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
        self._socket.close()

    def start(self) -> None:
        if self._socket.fileno() == -1:  # closed by the last stop: take the port again
            self._socket = _bound_socket(self.port)
        # Listening now: a client that connects before uvicorn is ready waits in the backlog.
        self._socket.listen()
        config = uvicorn.Config(_web_app(), log_level="warning", lifespan="on", timeout_graceful_shutdown=0.1)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = self._task = None
        self._socket.close()


def _bound_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock
