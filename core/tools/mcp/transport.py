"""Opening the connection to one MCP server: a child process over stdio, or streamable HTTP.

Both yield the SDK's pair of message streams for a ``ClientSession``. Both are anyio
context managers holding task groups: enter and leave them in the same task.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TextIO

import httpx
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage

from core.tools.mcp.config import HttpServer, ServerConfig, StdioServer

__all__ = ["Streams", "open_transport"]

Streams = tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]

# The SDK's own choice: a server may hold a response stream open for minutes while a
# tool works; the per-call limit is the session's read timeout, not this.
_HTTP_READ_SECONDS = 300.0


@asynccontextmanager
async def open_transport(server: ServerConfig, *, connect_seconds: float,
                         errlog: TextIO | None = None) -> AsyncIterator[Streams]:
    """``errlog``: a file for a child process's stderr (by default the bot's)."""
    if isinstance(server, StdioServer):
        async with _stdio(server, errlog) as streams:
            yield streams
    else:
        async with _http(server, connect_seconds) as streams:
            yield streams


@asynccontextmanager
async def _stdio(server: StdioServer, errlog: TextIO | None) -> AsyncIterator[Streams]:
    parameters = StdioServerParameters(command=server.command, args=list(server.args),
                                       env=dict(server.env) or None, cwd=server.cwd)
    # The SDK's default errlog is the stderr of import time, a real file: keep it unless
    # asked, as the child needs a file descriptor, not any stream.
    options: dict[str, Any] = {} if errlog is None else {"errlog": errlog}
    async with stdio_client(parameters, **options) as (read, write):
        yield read, write


@asynccontextmanager
async def _http(server: HttpServer, connect_seconds: float) -> AsyncIterator[Streams]:
    timeout = httpx.Timeout(connect_seconds, read=_HTTP_READ_SECONDS)
    async with (
        httpx.AsyncClient(headers=server.headers, timeout=timeout) as client,
        streamable_http_client(server.url, http_client=client) as (read, write, _session_id),
    ):
        yield read, write
