"""Chatting with the engine in a terminal, or through a pipe.

Lines starting with ``/`` are commands (``/persona set …``, ``/forget``, ``/help``);
``/quit`` or end of input ends the session. Memory lives in the store, so a
conversation continues across runs. ``/attach PATH`` (repeatable) sends a local file
with the next message (``adapters/console/files.py``).

What is read comes from ``read_line``: in a terminal the prompt (``prompt.py``), else
stdin line by line (``stdin.py``). In a terminal Ctrl-C stops the answer being
written and the console goes on (``interrupt.py``); log lines are never printed
inside an answer (``terminal_logs.py``).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, TextIO

from adapters.console.files import LocalFiles, local_file
from adapters.console.interrupt import ctrl_c_calls
from adapters.console.stdin import stdin_lines
from adapters.console.terminal_logs import logs_after, terminal_log_handlers
from core.attachments.notes import display_name, human_size
from core.commands import parse_command_line
from core.engine import Engine
from core.errors import ChatwrightError, user_message
from core.types import CommandRequest, ConversationRef, FileRef, IncomingMessage

__all__ = ["ConsoleConfig", "ConsoleAdapter", "CONSOLE_HELP", "CONSOLE_KEYS", "STOPPED"]

_QUIT = {"quit", "exit"}
# ANSI faint and back to normal, for the status lines.
_DIM, _UNDIM = "\x1b[2m", "\x1b[0m"
_ATTACH = "attach"
# The console's own commands, added to the engine's /help.
CONSOLE_HELP = """In this console:
  /attach PATH                send a local file with your next message (repeatable)
  /quit                       leave (or Ctrl-D)"""
# And its keys, when a person is typing.
CONSOLE_KEYS = """Keys:
  Enter                       send (a pasted block of lines is one message)
  Alt-Enter or Esc Enter      a new line in the message
  Up / Down                   earlier messages
  Ctrl-C                      stop the answer being written, or clear the line
  Ctrl-D                      leave"""
# After an answer that Ctrl-C stopped.
STOPPED = " [stopped]"


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    user_id: str = "console-user"
    user_name: str = "you"
    channel: str = "console"
    is_admin: bool = True
    # A person is typing: "bot>" before answers, tool statuses, Ctrl-C stops an answer.
    interactive: bool = False


class ConsoleAdapter:
    name = "console"

    def __init__(
        self,
        engine: Engine,
        config: ConsoleConfig,
        read_line: Callable[[], Awaitable[str]] | None = None,
        out: TextIO | None = None,
        log_handlers: Sequence[logging.StreamHandler] | None = None,
    ) -> None:
        self._engine = engine
        self._config = config
        self._read_line = read_line or stdin_lines()
        self._out = out or sys.stdout
        # None: the root logger's handlers that write to a terminal, looked up each time.
        self._log_handlers = log_handlers
        self.conversation = ConversationRef("console", "local", config.channel)
        self._files = LocalFiles()
        # Files attached with /attach, sent with the next message.
        self._attached: list[FileRef] = []
        # The answer or command running now, for ``interrupt``.
        self._job: asyncio.Future[None] | None = None
        # Answers that failed (an error shown instead): piped input exits non-zero.
        self.failed_answers = 0

    async def run(self) -> None:
        """Answer lines until ``/quit`` or end of input."""
        while True:
            line = await self._read_line()
            if not line:
                self._write("\n" if self._config.interactive else "")
                return
            # A message of several lines (a paste) stays whole; only its ends are trimmed.
            text = line.strip()
            if not text:
                continue
            if not await self._handle(text):
                return

    def interrupt(self) -> bool:
        """Stop the answer or command running now (Ctrl-C); False when there is none."""
        if self._job is None or self._job.done():
            return False
        self._job.cancel()
        return True

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
        with logs_after(self._terminal_logs()):
            try:
                if not await self._interruptible(self._write_reply(message)):
                    self._write(STOPPED)
            except Exception as exc:  # the reply stream logged it: one line here
                self.failed_answers += 1
                self._write(f"[{user_message(exc)}]")
            self._write("\n")

    async def _write_reply(self, message: IncomingMessage) -> None:
        async with self._engine.reply(message, files=self._files) as reply:
            shown = ""
            async for delta in reply:
                if reply.status != shown:
                    shown = reply.status
                    self._show_status(shown)
                self._write(delta)

    async def _interruptible(self, job: Coroutine[Any, Any, None]) -> bool:
        """Runs ``job``; False if ``interrupt`` stopped it. In a terminal, Ctrl-C interrupts.

        Stopped, an answer's question stays in memory, as when the model fails (the
        engine stores it while the model reads it); the part of the answer shown is
        not stored.
        """
        task = asyncio.ensure_future(job)
        self._job = task
        try:
            with ctrl_c_calls(self.interrupt) if self._config.interactive else nullcontext():
                await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not task.cancelled() or (current is not None and current.cancelling()):
                raise  # the console itself is being stopped
            return False
        finally:
            self._job = None
        return True

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
        with logs_after(self._terminal_logs()):
            try:
                if not await self._interruptible(self._write_command(name, request)):
                    self._write(STOPPED.lstrip() + "\n")
            except ChatwrightError as exc:
                self._write(user_message(exc) + "\n")

    async def _write_command(self, name: str, request: CommandRequest) -> None:
        result = await self._engine.run_command(request)
        self._write(result.text + "\n")
        if name == "help":
            self._write(CONSOLE_HELP + "\n")
            if self._config.interactive:
                self._write(CONSOLE_KEYS + "\n")

    def _terminal_logs(self) -> Sequence[logging.StreamHandler]:
        return terminal_log_handlers() if self._log_handlers is None else self._log_handlers

    def _write(self, text: str) -> None:
        if text:
            self._out.write(text)
            self._out.flush()


def _unquoted(args: str) -> str:
    """``"my notes.md"`` → ``my notes.md``: a path may be quoted (spaces work unquoted too)."""
    if len(args) >= 2 and args[0] == args[-1] and args[0] in "\"'":
        return args[1:-1]
    return args
