"""Lines of stdin when it is not a terminal (``echo hi | chatwright console``)."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Awaitable, Callable

__all__ = ["stdin_lines"]


def stdin_lines() -> Callable[[], Awaitable[str]]:
    """``await read_line()``: the next line of stdin with its "\\n", "" at its end.

    Read by a daemon thread so the event loop never waits on input; a daemon thread
    (not ``asyncio.to_thread``) so that Ctrl-C ends the program at once instead of
    waiting for a line that is not going to come.
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
