"""Ctrl-C stops what the console is doing instead of ending it.

While an answer runs, prompt_toolkit is not reading keys: the terminal turns Ctrl-C
into SIGINT, which would end the program. In ``ctrl_c_calls(callback)`` it calls
``callback`` on the event loop instead. (At the prompt, prompt_toolkit reads Ctrl-C
as a key and restores this handler when it returns.)
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["ctrl_c_calls"]


@contextmanager
def ctrl_c_calls(callback: Callable[[], object]) -> Iterator[None]:
    # Python runs signal handlers in the main thread only; elsewhere nothing changes.
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda signum, frame: loop.call_soon_threadsafe(callback))
    try:
        yield
    finally:
        # None: a handler not set from Python; Python's own is the nearest.
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
