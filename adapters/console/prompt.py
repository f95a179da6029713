"""The console's prompt in a terminal: prompt_toolkit, with line editing and history.

Enter sends; a paste of several lines (bracketed paste) stays one message; Alt-Enter
(or Esc then Enter) starts a new line; Up/Down go through earlier messages; Ctrl-C
clears the line; Ctrl-D on an empty line leaves. While the prompt waits, log lines
and other output are printed above it (``patch_stdout``), never into the typed line.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output, create_output
from prompt_toolkit.patch_stdout import patch_stdout

from adapters.console.terminal_logs import logs_to, terminal_log_handlers

__all__ = ["PROMPT", "PromptReader", "PrivateFileHistory", "DEFAULT_HISTORY"]

PROMPT = "you> "
# Lines after the first of a message, indented under its text.
_CONTINUATION = "...  "
# Like ~/.python_history: one file for every console run, whatever its database.
DEFAULT_HISTORY = Path("~/.chatwright_history")

log = logging.getLogger("adapters.console")


class PromptReader:
    """``await reader()``: the next message typed (its text and "\\n"), "" at Ctrl-D.

    ``input``/``output``: prompt_toolkit's, for tests (``create_pipe_input``,
    ``DummyOutput``); by default the terminal (the prompt goes to stderr when stdout
    is redirected, so answers alone land in the file).
    """

    def __init__(
        self, history: History | None = None, *, input: Input | None = None, output: Output | None = None,
        log_handlers: Sequence[logging.StreamHandler] | None = None,
    ) -> None:
        self._session: PromptSession[str] = PromptSession(
            PROMPT, history=history or InMemoryHistory(), key_bindings=_bindings(),
            prompt_continuation=_CONTINUATION, input=input,
            output=output or create_output(always_prefer_tty=True),
        )
        self._log_handlers = log_handlers

    async def __call__(self) -> str:
        while True:
            try:
                with patch_stdout(raw=True):
                    handlers = terminal_log_handlers() if self._log_handlers is None else self._log_handlers
                    with logs_to(sys.stderr, handlers):  # the proxy: printed above the prompt
                        text = await self._session.prompt_async()
            except KeyboardInterrupt:
                continue  # Ctrl-C: the line is dropped, a fresh prompt
            except EOFError:
                return ""
            return text + "\n"


def _bindings() -> KeyBindings:
    bindings = KeyBindings()

    # prompt_toolkit's Emacs keys make Meta-Enter accept the line; here it is the way
    # to type a message of several lines (Enter sends it).
    @bindings.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


class PrivateFileHistory(FileHistory):
    """A history file only its owner can read (messages may be private), that never
    stops the console: where it can't be read or written, the history of this run
    stays in memory and one warning says so."""

    def __init__(self, filename: str | os.PathLike[str]) -> None:
        super().__init__(os.path.expanduser(filename))
        self._warned = False

    def load_history_strings(self) -> Iterable[str]:
        try:
            return list(super().load_history_strings())
        except OSError as exc:
            self._warn(exc)
            return []

    def store_string(self, string: str) -> None:
        try:
            os.close(os.open(self.filename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
            super().store_string(string)
        except OSError as exc:
            self._warn(exc)

    def _warn(self, exc: OSError) -> None:
        if not self._warned:
            self._warned = True
            log.warning("console history not saved in %s: %s", self.filename, exc.strerror or exc)
