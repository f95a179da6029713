"""The event loop chatwright runs on: uvloop where it is installed, else asyncio's own.

uvloop (libuv, in C) does the loop's own work (sockets, callbacks, timers) with a
fraction of the CPU. In the Slack burst benchmark it cut the bot's CPU per reply by
about a sixth. It is a dependency except on Windows, which it does not support; there,
and wherever it is missing, asyncio's loop serves unchanged.
"""

from __future__ import annotations

import asyncio
from importlib.util import find_spec

__all__ = ["loop_name", "new_event_loop"]


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new loop for ``asyncio.Runner(loop_factory=new_event_loop)``."""
    if find_spec("uvloop") is not None:
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``"uvloop"`` or ``"asyncio"``, for the startup log."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
