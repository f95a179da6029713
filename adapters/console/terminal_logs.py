"""Keeping log lines out of what the console prints.

A retry warning written to the terminal in the middle of an answer would land inside
the answer's text. The console points the log handlers that write to a terminal
elsewhere for a while: into a buffer written out after the answer (``logs_after``),
or above the prompt (``logs_to`` prompt_toolkit's stdout proxy).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

__all__ = ["logs_after", "logs_to", "terminal_log_handlers"]


def terminal_log_handlers() -> list[logging.StreamHandler]:
    """The root logger's handlers that write to a terminal (not to files or pipes)."""
    return [
        handler for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)
        and _is_tty(handler.stream)
    ]


@contextmanager
def logs_to(stream: TextIO, handlers: Sequence[logging.StreamHandler]) -> Iterator[None]:
    """``handlers`` write to ``stream`` in the block, to their own stream again after."""
    previous = [(handler, handler.stream) for handler in handlers]
    for handler in handlers:
        handler.setStream(stream)
    try:
        yield
    finally:
        for handler, stream_before in previous:
            handler.setStream(stream_before)


@contextmanager
def logs_after(handlers: Sequence[logging.StreamHandler]) -> Iterator[None]:
    """What ``handlers`` log in the block is held and written when it ends."""
    held = [(handler, handler.stream, io.StringIO()) for handler in handlers]
    for handler, _, buffer in held:
        handler.setStream(buffer)
    try:
        yield
    finally:
        for handler, stream, buffer in held:
            handler.setStream(stream)
            if buffer.getvalue():
                stream.write(buffer.getvalue())
                stream.flush()


def _is_tty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):  # no such method, or closed
        return False
