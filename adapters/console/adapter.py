"""Chatting with the engine in a terminal, or through a pipe.

Lines starting with ``/`` are commands (``/persona set …``, ``/forget``, ``/help``);
``/quit`` or end of input ends the session. Memory lives in the store, so a
conversation continues across runs. ``/attach PATH`` (repeatable) sends a local file
with the next message (``adapters/console/files.py``).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TextIO

from adapters.console.files import LocalFiles, local_file
from core.attachments.notes import display_name, human_size
from core.commands import parse_command_line
from core.engine import Engine
from core.errors import ChatwrightError, user_message
from core.types import CommandRequest, ConversationRef, FileRef, IncomingMessage

__all__ = ["ConsoleConfig", "ConsoleAdapter", "CONSOLE_HELP"]

_QUIT = {"quit", "exit"}
# ANSI faint and back to normal, for the status lines.
_DIM, _UNDIM = "\x1b[2m", "\x1b[0m"
_ATTACH = "attach"
# The console's own commands, added to the engine's /help.
CONSOLE_HELP = """In this console:
  /attach PATH                send a local file with your next message (repeatable)
  /quit                       leave (or Ctrl-D)"""


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    user_id: str = "console-user"
    user_name: str = "you"
    channel: str = "console"
    is_admin: bool = True
    # Prompts ("you>", "bot>") only make sense when a person is typing.
    interactive: bool = False


class ConsoleAdapter:
    name = "console"

    def __init__(
        self,
        engine: Engine,
        config: ConsoleConfig,
        read_line: Callable[[], Awaitable[str]] | None = None,
        out: TextIO | None = None,
    ) -> None:
        self._engine = engine
        self._config = config
        self._read_line = read_line or _stdin_reader()
        self._out = out or sys.stdout
        self.conversation = ConversationRef("console", "local", config.channel)
        self._files = LocalFiles()
        # Files attached with /attach, sent with the next message.
        self._attached: list[FileRef] = []

    async def run(self) -> None:
        """Answer lines until ``/quit`` or end of input."""
        while True:
            self._write("you> " if self._config.interactive else "")
            line = await self._read_line()
            if not line:
                self._write("\n" if self._config.interactive else "")
                return
            text = line.strip()
            if not text:
                continue
            if not await self._handle(text):
                return

    async def _handle(self, text: str) -> bool:
        command = parse_command_line(text)
        if command is None:
            await self._answer(text)
            return True
        name, args = command
        if name in _QUIT:
            return False
        if name == _ATTACH:
            self._attach(args)
            return True
        await self._command(name, args)
        return True

    def _attach(self, args: str) -> None:
        path = _unquoted(args)
        if not path:
            self._write("Usage: /attach PATH\n")
            return
        try:
            ref = local_file(path)
        except ValueError as exc:
            self._write(f"{exc}\n")
            return
        self._attached.append(ref)
        self._write(f"attached {display_name(ref.name)} ({human_size(ref.size)}); it goes with your next message\n")

    async def _answer(self, text: str) -> None:
        files, self._attached = tuple(self._attached), []
        message = IncomingMessage(
            self.conversation, self._config.user_id, self._config.user_name, text,
            is_admin=self._config.is_admin, files=files,
        )
        self._write("bot> " if self._config.interactive else "")
        try:
            async with self._engine.reply(message, files=self._files) as reply:
                shown = ""
                async for delta in reply:
                    if reply.status != shown:
                        shown = reply.status
                        self._show_status(shown)
                    self._write(delta)
        except ChatwrightError as exc:
            self._write(f"[{user_message(exc)}]")
        self._write("\n")

    def _show_status(self, status: str) -> None:
        """What the bot is doing while tools run, as a dimmed line of its own. Only in a
        terminal: piped output is the answers alone."""
        if status and self._config.interactive:
            self._write(f"{_DIM}({status}){_UNDIM}\n")

    async def _command(self, name: str, args: str) -> None:
        request = CommandRequest(
            self.conversation, self._config.user_id, self._config.user_name, name, args,
            is_admin=self._config.is_admin,
        )
        try:
            result = await self._engine.run_command(request)
            self._write(result.text + "\n")
            if name == "help":
                self._write(CONSOLE_HELP + "\n")
        except ChatwrightError as exc:
            self._write(user_message(exc) + "\n")

    def _write(self, text: str) -> None:
        if text:
            self._out.write(text)
            self._out.flush()


def _unquoted(args: str) -> str:
    """``"my notes.md"`` → ``my notes.md``: a path may be quoted (spaces work unquoted too)."""
    if len(args) >= 2 and args[0] == args[-1] and args[0] in "\"'":
        return args[1:-1]
    return args


def _stdin_reader() -> Callable[[], Awaitable[str]]:
    """Lines of stdin, read by a daemon thread so the event loop never waits on input.

    A daemon thread (not ``asyncio.to_thread``) so that Ctrl-C ends the program at once
    instead of waiting for a line that the person is no longer going to type.
    """
    lines: asyncio.Queue[str] | None = None

    def pump(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str]) -> None:
        while True:
            line = sys.stdin.readline()
            loop.call_soon_threadsafe(queue.put_nowait, line)
            if not line:
                return

    async def read_line() -> str:
        nonlocal lines
        if lines is None:
            lines = asyncio.Queue()
            loop = asyncio.get_running_loop()
            threading.Thread(target=pump, args=(loop, lines), name="stdin", daemon=True).start()
        return await lines.get()

    return read_line
