"""A stdio server's stderr: into the log at DEBUG, its last line kept for the failure report.

Not passed through to the bot's stderr: raw lines would break ``LOG_FORMAT=json`` and
escape the log's secret masking. A server's last words ("ModuleNotFoundError: …") are
what an operator needs when it fails, so they join the one-line report instead.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TextIO

import anyio

__all__ = ["ChildStderr"]

log = logging.getLogger(__name__)

_MAX_LINE = 200
# After the child has exited, its last lines are in the pipe or on their way; a grandchild
# holding the pipe open must not hold up the retry, though.
_DRAIN_SECONDS = 1.0


class ChildStderr:
    """A pipe whose write end (``file``) becomes one child's stderr, read by a thread."""

    def __init__(self, server: str, redact: Callable[[str], str]) -> None:
        read_fd, write_fd = os.pipe()
        self.file: TextIO = os.fdopen(write_fd, "w", encoding="utf-8")
        self.last_line = ""
        self._server = server
        self._redact = redact
        # A thread, not the event loop: it reads a pipe portably (Windows too) and blocks nothing.
        self._reader = threading.Thread(target=self._read, args=(read_fd,), daemon=True,
                                        name=f"mcp server {server} stderr")
        self._reader.start()

    def child_started(self) -> None:
        """Our copy of the write end is no longer needed: the child holds its own, and the
        reader sees the end when the child exits."""
        self.file.close()

    async def aclose(self) -> None:
        """After the child has exited: wait (briefly) for its last lines."""
        self.file.close()
        await anyio.to_thread.run_sync(self._reader.join, _DRAIN_SECONDS)

    def _read(self, read_fd: int) -> None:
        with open(read_fd, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                text = self._redact(" ".join(line.split()))[:_MAX_LINE]
                if text:
                    self.last_line = text
                    log.debug("mcp server %r stderr: %s", self._server, text)
