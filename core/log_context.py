"""Which answer a log line belongs to: the event id (and platform) of the answer being
handled, on every line logged while it is.

``answering(platform, event_id)`` binds them for the code inside it; ``EventFields`` (a
logging filter on the handler) copies them onto each record as ``event_id`` and
``platform``. A contextvar, because asyncio copies the context into every task when it
is created (and ``asyncio.to_thread`` into its thread): the tasks and threads an answer
starts carry its event id without being told, and the answers running at once never see
each other's. The other side of that: a task shared by many answers (a lease renewer, a
batch writer) started from inside one would log with that one's id; start those in
``without_event()``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import Context, ContextVar, copy_context
from dataclasses import dataclass

__all__ = ["EventFields", "LogEvent", "answering", "current_event", "without_event"]


@dataclass(frozen=True, slots=True)
class LogEvent:
    platform: str
    event_id: str


_current: ContextVar[LogEvent | None] = ContextVar("chatwright_log_event", default=None)


def current_event() -> LogEvent | None:
    """The answer being handled here, if any."""
    return _current.get()


@contextmanager
def answering(platform: str, event_id: str) -> Iterator[LogEvent]:
    """Lines logged inside (and in tasks started inside) carry this event."""
    event = LogEvent(platform, event_id)
    token = _current.set(event)
    try:
        yield event
    finally:
        _current.reset(token)


def without_event() -> Context:
    """The current context without the answer's event: for
    ``asyncio.create_task(..., context=without_event())`` of a task that serves every answer."""
    context = copy_context()
    context.run(_current.set, None)
    return context


class EventFields(logging.Filter):
    """Adds ``event_id`` and ``platform`` to a record logged while an answer is handled;
    a record logged outside any answer gets neither (a JSON line then has no such field).

    On the handler, not a logger: a logger's filters see only its own records, a
    handler's see every library's too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        event = _current.get()
        if event is not None:
            record.event_id = event.event_id
            record.platform = event.platform
        return True
