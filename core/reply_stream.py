"""``ReplyStream``: an answer being written, as the engine hands it to an adapter."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING

from core import metrics
from core.attachments import FileSource
from core.errors import ChatwrightError
from core.threads import ThreadSource
from core.types import IncomingMessage, Usage

if TYPE_CHECKING:
    from core.engine import Engine

__all__ = ["ReplyStream", "where"]

log = logging.getLogger("core.engine")


class ReplyStream:
    """An answer being written. Iterate it for text deltas; ``text`` holds what came.

    Use it as ``async with engine.reply(msg) as reply:`` so that an adapter that stops
    early (e.g. its platform failed) still releases the conversation at once.

    While tools run no text comes: ``status`` says what is going on, and the deltas are
    "" (when it changes, and every ``STATUS_WAKE`` seconds): a reader shows it beside the
    text so far (Slack, Discord) or as a dimmed line (the console) until text comes.
    """

    __slots__ = ("_engine", "message", "resumed", "files", "thread", "parts", "preface", "usage",
                 "status", "written", "model", "_iterator")

    def __init__(
        self, engine: Engine, message: IncomingMessage, resumed: bool, files: FileSource,
        thread: ThreadSource | None = None,
    ) -> None:
        self._engine = engine
        self.message = message
        self.resumed = resumed
        self.files = files
        # Where the thread's earlier messages come from (None: nowhere).
        self.thread = thread
        self.parts: list[str] = []
        # Notices about the message's files, the first part of ``text``; not the model's.
        self.preface = ""
        self.usage: Usage | None = None
        # What the bot is doing while no text comes ("Running time…", "Thinking…"), ""
        # when nothing or writing. Never part of ``text``: show it beside it, for now.
        self.status = ""
        # The model has finished: ``text`` is the whole answer, though it may still be
        # being stored (the stream ends once it is).
        self.written = False
        # The model that writes the answer (set by the engine once it knows), for metrics.
        self.model = ""
        self._iterator = self._run()

    @property
    def text(self) -> str:
        """What to show: the preface, then the model's answer so far."""
        return "".join(self.parts)

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterator

    async def __aenter__(self) -> ReplyStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._iterator.aclose()

    async def _run(self) -> AsyncIterator[str]:
        platform = self.message.conversation.platform
        engine = self._engine
        stream = engine._resumed if self.resumed else engine._stream
        timing = _Timing(self)
        metrics.ANSWERS_IN_FLIGHT.inc()
        try:
            async for delta in stream(self.message, self):
                if delta:
                    timing.text(delta)
                yield delta
        except ChatwrightError as exc:
            metrics.ERRORS.labels(platform, type(exc).__name__).inc()
            log.warning("reply failed in %s: %r", where(self.message), exc)
            timing.ended()
            raise
        except Exception as exc:
            metrics.ERRORS.labels(platform, type(exc).__name__).inc()
            log.exception("unexpected error replying in %s", where(self.message))
            timing.ended()
            raise
        else:
            timing.ended()
        finally:
            metrics.ANSWERS_IN_FLIGHT.dec()


class _Timing:
    """TIME_TO_FIRST_TOKEN and ANSWER_DURATION of one answer, by the model that wrote it.

    Only answers a model was asked for count (``ReplyStream.model`` set by the engine): a
    stored reply delivered again, or a failure before a model was chosen, would only
    blur the figures. An answer cut short (its reader stopped) has no duration.
    """

    __slots__ = ("_reply", "_started", "_shown", "_first")

    def __init__(self, reply: ReplyStream) -> None:
        self._reply = reply
        self._started = time.perf_counter()
        self._shown = 0  # characters yielded so far, until the model's first
        self._first = False

    def text(self, delta: str) -> None:
        """``delta`` was yielded; the first that is not the preface is the model's first text."""
        if self._first:
            return
        # The preface (notices about files) is yielded too, and is not the model's.
        self._shown += len(delta)
        if self._shown > len(self._reply.preface) and self._reply.model:
            self._first = True
            metrics.child(metrics.TIME_TO_FIRST_TOKEN, self._reply.model).observe(time.perf_counter() - self._started)

    def ended(self) -> None:
        if self._reply.model:
            metrics.child(metrics.ANSWER_DURATION, self._reply.model).observe(time.perf_counter() - self._started)


def where(message: IncomingMessage) -> str:
    """Where a message was said, for the log: "slack:T1/C1/1700000000.1"."""
    conv = message.conversation
    return f"{conv.platform}:{conv.workspace}/{conv.channel}/{conv.thread or '-'}"
