"""One MCP server for the bot's whole life: connect, offer its tools, notice it go, try again.

``McpServer.run`` is the server's long-lived task. Each attempt opens the transport and a
``ClientSession`` inside it, lists the tools and adds them to the registry as
"server.tool"; then it waits until the stop event, the end of the server's messages (a
child process that died), a failed ping (an HTTP server gone) or a transport error. The
tools leave the registry as soon as the session ends, and the attempt is repeated after a
backoff. The SDK's transports and session are anyio context managers with task groups:
everything here is entered and left in that one task.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal

import anyio
import httpx
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream
from mcp import ClientSession, McpError, types
from mcp.shared.message import SessionMessage

from core.errors import ChatwrightError, ConfigurationError
from core.redaction import Redactor
from core.tools.mcp.backoff import Backoff
from core.tools.mcp.config import ServerConfig, StdioServer
from core.tools.mcp.content import result_text
from core.tools.mcp.stderr import ChildStderr
from core.tools.mcp.transport import open_transport
from core.tools.registry import ToolInfo, ToolRegistry

__all__ = ["McpServer", "McpServerError", "McpTool", "ServerStatus", "ServerTimings", "State", "tool_name"]

log = logging.getLogger(__name__)

State = Literal["starting", "up", "down", "stopped"]
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_MAX_REASON = 300
_MAX_WIRE_NAME = 64


class McpServerError(ChatwrightError):
    """A call did not reach the tool: the server is down, went away, or timed out."""


class _ServerLost(Exception):
    """The connection ended while the server was up."""


@dataclass(frozen=True, slots=True)
class ServerTimings:
    # Connecting, the MCP handshake and the first tool list, together.
    start_seconds: float = 30.0
    # One tool call, as the SDK's read timeout (the engine's runner has its own, too).
    call_seconds: float = 30.0
    # How often a quiet server is asked whether it is still there: HTTP has no other sign.
    ping_seconds: float = 30.0
    # Stopping: the SDK closes a child's stdin, waits 2 s, then terminates it.
    stop_seconds: float = 5.0
    backoff_first: float = 1.0
    backoff_max: float = 60.0


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """What ``doctor`` and ``/tools list`` show about a server."""

    name: str
    where: str  # "stdio: npx", "http: https://host/mcp" (never args, query or headers)
    state: State
    tools: tuple[str, ...] = ()  # as people call them, while up
    error: str | None = None  # why it is down: the last failure, one line
    failures: int = 0  # failed attempts in a row


class McpTool:
    """A server's tool in the registry; calling it calls the server."""

    __slots__ = ("info", "_server", "_remote_name")

    def __init__(self, info: ToolInfo, server: McpServer, remote_name: str) -> None:
        self.info = info
        self._server = server
        self._remote_name = remote_name  # as the server spells it

    async def call(self, arguments: dict[str, Any]) -> str:
        return await self._server.call_tool(self._remote_name, arguments)


class McpServer:
    def __init__(self, config: ServerConfig, registry: ToolRegistry, timings: ServerTimings, *,
                 on_change: Callable[[], None] = lambda: None) -> None:
        self.config = config
        self.source = f"mcp:{config.name}"
        self.status = ServerStatus(config.name, config.where, "starting")
        self._registry = registry
        self._timings = timings
        self._on_change = on_change
        self._backoff = Backoff(timings.backoff_first, timings.backoff_max)
        self._redact = Redactor(config.secret_values())
        self._session: ClientSession | None = None
        self._calls: set[anyio.CancelScope] = set()
        self._up_since: float | None = None
        self._tools_changed: anyio.Event | None = None  # one per connection
        self._stderr: ChildStderr | None = None  # a stdio server's, one per attempt

    async def run(self, stop: anyio.Event) -> None:
        """Until ``stop`` is set: serve; after each failure, report, wait and try again."""
        while not stop.is_set():
            self._up_since = None
            try:
                await self._attempt(stop)
            except Exception as exc:
                if stop.is_set():
                    break  # a failure while stopping is no news
                delay = self._failed(exc)
            else:
                break  # an attempt returns only when stopped
            with anyio.move_on_after(delay):
                await stop.wait()
        self._set(state="stopped", tools=())

    async def call_tool(self, remote_name: str, arguments: dict[str, Any]) -> str:
        session = self._session
        if session is None:
            raise McpServerError(f"MCP server {self.config.name!r} is not running "
                                 f"({self.status.error or 'starting'})")
        with anyio.CancelScope() as scope:
            self._calls.add(scope)
            try:
                result = await session.call_tool(
                    remote_name, arguments, read_timeout_seconds=timedelta(seconds=self._timings.call_seconds))
            except Exception as exc:
                raise McpServerError(f"MCP server {self.config.name!r}: {self._reason(exc)}") from exc
            finally:
                self._calls.discard(scope)
        if scope.cancelled_caught:
            raise McpServerError(f"MCP server {self.config.name!r} went away during the call")
        return result_text(result)

    # -- one attempt --------------------------------------------------------------------

    async def _attempt(self, stop: anyio.Event) -> None:
        is_stdio = isinstance(self.config, StdioServer)
        self._stderr = stderr = ChildStderr(self.config.name, self._redact) if is_stdio else None
        try:
            await self._connect(stop, stderr)
        finally:
            if stderr is not None:
                with anyio.CancelScope(shield=True):  # bounded: a second at most
                    await stderr.aclose()

    async def _connect(self, stop: anyio.Event, stderr: ChildStderr | None) -> None:
        timings = self._timings
        errlog = None if stderr is None else stderr.file
        async with (
            open_transport(self.config, connect_seconds=timings.start_seconds, errlog=errlog) as (read, write),
            read,  # the transports leave closing their receive end to its user
            anyio.create_task_group() as tasks,
        ):
            if stderr is not None:
                stderr.child_started()
            # Stopping cancels the session, not the transport: its exit then closes a
            # child's stdin and waits for it, as the MCP spec asks.
            tasks.start_soon(_cancel_when_set, stop, tasks.cancel_scope)
            read, ended = _relay_until_end(read, tasks)
            self._tools_changed = anyio.Event()
            # The handshake, tool lists and pings wait as long as a start may take; tool
            # calls pass their own limit.
            async with ClientSession(read, write, read_timeout_seconds=timedelta(seconds=timings.start_seconds),
                                     message_handler=self._on_message) as session:
                with anyio.fail_after(timings.start_seconds):
                    await session.initialize()
                    self._offer(session, await _list_tools(session))
                try:
                    tasks.start_soon(self._keep_alive, session)
                    tasks.start_soon(self._follow_tool_changes, session)
                    await ended.wait()
                    raise _ServerLost("the connection closed")
                finally:
                    self._withdraw()

    async def _keep_alive(self, session: ClientSession) -> None:
        while True:
            await anyio.sleep(self._timings.ping_seconds)
            try:
                await session.send_ping()
            except McpError as exc:
                raise _ServerLost(f"no answer to a ping ({exc.error.message})") from exc

    async def _follow_tool_changes(self, session: ClientSession) -> None:
        while True:
            assert self._tools_changed is not None
            await self._tools_changed.wait()
            self._tools_changed = anyio.Event()
            with anyio.fail_after(self._timings.start_seconds):
                self._offer(session, await _list_tools(session))

    async def _on_message(self, message: Any) -> None:
        # Runs in the session's receive loop: note, never wait.
        if (isinstance(message, types.ServerNotification) and self._tools_changed is not None
                and isinstance(message.root, types.ToolListChangedNotification)):
            self._tools_changed.set()
        elif isinstance(message, Exception):
            log.debug("mcp server %r sent something unreadable: %s", self.config.name, self._reason(message))

    # -- the registry and the status ----------------------------------------------------

    def _offer(self, session: ClientSession, tools: list[types.Tool]) -> None:
        self._registry.remove_source(self.source)
        offered = [name for tool in tools if (name := self._add(tool))]
        first = self._session is None
        self._session = session
        self._set(state="up", tools=tuple(sorted(offered)), error=None, failures=0)
        if first:
            self._up_since = time.monotonic()
            log.info("mcp server %r is up (%s): %d tools", self.config.name, self.config.where, len(offered))

    def _add(self, tool: types.Tool) -> str | None:
        name = tool_name(self.config.name, tool.name)
        info = ToolInfo(name, tool.description or tool.title or "", _object_schema(tool.inputSchema), self.source)
        try:
            self._registry.add(McpTool(info, self, tool.name))
        except ConfigurationError as exc:
            log.warning("mcp server %r: tool %r left out: %s", self.config.name, tool.name, exc)
            return None
        return name

    def _withdraw(self) -> None:
        self._session = None
        self._registry.remove_source(self.source)
        for call in list(self._calls):
            call.cancel()
        self._set(state="down", tools=())

    def _failed(self, exc: Exception) -> float:
        """Report the failure in one line (the traceback at DEBUG); the wait before the next try."""
        reason = self._reason(exc)
        if self._stderr is not None and self._stderr.last_line:
            reason = f"{reason} (its stderr: {self._stderr.last_line})"
        log.debug("mcp server %r failed", self.config.name, exc_info=exc)
        up_for = None if self._up_since is None else time.monotonic() - self._up_since
        # A server that stayed up a good while starts the backoff afresh.
        if up_for is not None and up_for >= self._backoff.ceiling:
            self._backoff.reset()
        delay = self._backoff.next_delay()
        self._set(state="down", tools=(), error=reason, failures=self.status.failures + 1)
        log.warning("mcp server %r (%s) %s: %s; trying again in %g s", self.config.name, self.config.where,
                    "failed to start" if up_for is None else "stopped", reason, delay)
        return delay

    def _set(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)
        self._on_change()

    def _reason(self, exc: BaseException) -> str:
        """One line saying what went wrong, with this server's secrets masked."""
        exc = _leaf(exc)
        if isinstance(exc, McpError):
            text = exc.error.message
        elif isinstance(exc, httpx.HTTPStatusError):
            # Not str(exc): it repeats the URL, query and all.
            text = f"HTTP {exc.response.status_code} {exc.response.reason_phrase}"
        elif isinstance(exc, TimeoutError):
            text = f"no answer within {self._timings.start_seconds:g} s"
        elif isinstance(exc, _ServerLost):
            text = str(exc)
        elif isinstance(exc, (anyio.BrokenResourceError, anyio.ClosedResourceError)):
            # Writing to a server that already quit: the same as the SDK's own word for
            # reading from one, whichever of the two came first.
            text = "Connection closed"
        else:
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return self._redact(" ".join(text.split()))[:_MAX_REASON]


def tool_name(server: str, remote_name: str) -> str:
    """"server.tool", as people and the registry call it: letters, digits, "_" and "-" (any
    other character becomes "_"), and short enough that the model's spelling, "server__tool",
    fits the 64 characters the chat API allows a function name."""
    room = _MAX_WIRE_NAME - len(server) - len("__")
    return f"{server}.{_UNSAFE.sub('_', remote_name)[:room]}"


async def _list_tools(session: ClientSession) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    while True:
        page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)
        tools.extend(page.tools)
        cursor = page.nextCursor
        if not cursor:
            return tools


def _object_schema(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    # Function calling wants an object schema; a server may leave out the obvious.
    return schema if schema.get("type") == "object" else {"type": "object", "properties": {}, **schema}


def _relay_until_end(
    source: MemoryObjectReceiveStream[SessionMessage | Exception], tasks: TaskGroup,
) -> tuple[MemoryObjectReceiveStream[SessionMessage | Exception], anyio.Event]:
    """The server's messages, passed on, and an event set when they end: the SDK's session
    answers its pending requests then, but tells nobody else that the server is gone."""
    ended = anyio.Event()
    sink, relayed = anyio.create_memory_object_stream[SessionMessage | Exception](0)

    async def relay() -> None:
        async with sink:
            async for message in source:
                try:
                    await sink.send(message)
                except anyio.BrokenResourceError:
                    return  # the session closed first: we are leaving anyway
        ended.set()

    tasks.start_soon(relay)
    return relayed, ended


async def _cancel_when_set(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup):
        exc = next((e for e in exc.exceptions if not isinstance(e, anyio.get_cancelled_exc_class())),
                   exc.exceptions[0])
    return exc
