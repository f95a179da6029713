"""``McpServers``: every configured MCP server for the bot's life, each in a task of its own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

import anyio

from core.tools.mcp.config import ServerConfig
from core.tools.mcp.server import McpServer, ServerStatus, ServerTimings
from core.tools.registry import ToolRegistry

__all__ = ["McpServers", "secret_values"]

log = logging.getLogger(__name__)


class McpServers:
    """Starts every server with ``start()`` (or ``async with``) and adds their tools to
    ``registry`` as they come up; ``aclose()`` stops them all within
    ``timings.stop_seconds`` (child processes are asked to exit, then terminated).

    Each server runs in its own asyncio task because the SDK's anyio context managers
    must be entered and left in one task; a server's failure stays inside its task.
    """

    def __init__(self, servers: Iterable[ServerConfig], registry: ToolRegistry,
                 timings: ServerTimings = ServerTimings()) -> None:
        self._timings = timings
        self._servers = [McpServer(config, registry, timings, on_change=self._changed) for config in servers]
        self._tasks: list[asyncio.Task[None]] = []
        self._stop: anyio.Event | None = None
        self._change = asyncio.Event()

    async def __aenter__(self) -> McpServers:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        if self._stop is not None:
            raise RuntimeError("McpServers were started already")
        self._stop = anyio.Event()
        for server in self._servers:
            task = asyncio.create_task(server.run(self._stop), name=f"mcp server {server.config.name}")
            task.add_done_callback(_report_crash)
            self._tasks.append(task)

    async def aclose(self) -> None:
        """Stop every server; harmless when called twice or before ``start``."""
        if self._stop is None or self._stop.is_set():
            return
        self._stop.set()
        if not self._tasks:
            return
        _, late = await asyncio.wait(self._tasks, timeout=self._timings.stop_seconds)
        for task in late:
            log.warning("mcp: %s did not stop in %g s; cancelling it", task.get_name(), self._timings.stop_seconds)
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    def statuses(self) -> list[ServerStatus]:
        """Each server as it is now, in the config's order."""
        return [server.status for server in self._servers]

    def settled(self) -> bool:
        """Whether every server has come up or failed at least once."""
        return all(server.status.state != "starting" for server in self._servers)

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Return once ``condition()`` holds; it is checked after each change of a status
        (bound it with a timeout: a server may never come up)."""
        while not condition():
            await self._change.wait()

    def _changed(self) -> None:
        self._change.set()
        self._change = asyncio.Event()


def secret_values(servers: Iterable[ServerConfig]) -> list[str]:
    """Every env and header value of the servers: for the log's secret filter."""
    return [value for server in servers for value in server.secret_values()]


def _report_crash(task: asyncio.Task[None]) -> None:
    # McpServer.run catches every failure of a server; this is for our own bugs.
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("mcp: %s crashed; its tools are gone until the next start", task.get_name(), exc_info=exc)
