"""Logging set-up: plain text or JSON lines (``LOG_FORMAT``), every configured secret
masked in every line, and the answer's event id on each line logged while it is handled
(``core.log_context``).

Secrets are ``SecretStr`` in settings and never logged on purpose; the filter is a
second line of defence against a library that logs a request with its token in it.
Which secrets are masked where is ``core.redaction``'s rule, the chat client's too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

from core.log_context import EventFields
from core.redaction import Redactor

__all__ = ["LogFormat", "RedactSecrets", "configure_logging", "formatter"]

LogFormat = Literal["text", "json"]

_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_TEXT_IN_ANSWER = "%(asctime)s %(levelname)s %(name)s [%(platform)s:%(event_id)s]: %(message)s"

# Libraries that log every request at INFO: a line per answer is noise in an operator's
# log (and CPU in a burst). They speak again at DEBUG.
# The MCP SDK's HTTP client logs each session and reconnection at INFO.
_PER_REQUEST_LOGGERS = ("httpx", "mcp.client.streamable_http")
# Loggers that put a whole request body in a line above DEBUG: Bolt logs the body of
# every request with a bad signature at INFO, and anyone can send those (2 KB of log
# per 40-byte request). Their lines are shown only at DEBUG. A filter, not a level:
# Bolt sets its loggers' levels itself when an app is built.
_BODY_LOGGERS = ("slack_bolt.AsyncRequestVerification", "slack_bolt.RequestVerification")


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._redact = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._redact:
            return True
        message = record.getMessage()
        masked = self._redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


class _TextLines(logging.Formatter):
    """``time LEVEL logger: message``; ``[platform:event id]`` after the logger inside an answer."""

    def __init__(self) -> None:
        super().__init__(_TEXT)
        self._in_answer = logging.Formatter(_TEXT_IN_ANSWER)

    def format(self, record: logging.LogRecord) -> str:
        if hasattr(record, "event_id"):
            return self._in_answer.format(record)
        return super().format(record)


class _JsonLines(JsonFormatter):
    """One JSON object a line: ``timestamp`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, ``exc_info`` when there is one, and any extra field (``event_id``,
    ``platform``).

    Masks secrets itself: the library formats ``exc_info`` again from the exception (not
    from the masked ``exc_text``), and extra fields never pass through ``RedactSecrets``.
    """

    def __init__(self, redact: Redactor) -> None:
        super().__init__("{levelname}{name}{message}", style="{", timestamp=True,
                         rename_fields={"levelname": "level", "name": "logger"})
        self._redact = redact

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # The time first, as people read a line (the library adds it last).
        ordered = {"timestamp": log_data.pop("timestamp"), **log_data}
        if not self._redact:
            return ordered
        return {key: self._redact(value) if isinstance(value, str) else value for key, value in ordered.items()}

    def serialize_log_record(self, log_data: dict[str, Any]) -> str:
        # An extra value that is not a string is turned into one only now.
        line = super().serialize_log_record(log_data)
        return self._redact(line) if self._redact else line


def formatter(fmt: LogFormat, secrets: Iterable[str] = ()) -> logging.Formatter:
    """The formatter of ``LOG_FORMAT``."""
    return _JsonLines(Redactor(secrets)) if fmt == "json" else _TextLines()


class _OnlyAtDebug(logging.Filter):
    """Lets a logger's lines through only when the configured level is DEBUG."""

    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        return self.debug


def configure_logging(level: str, secrets: Iterable[str] = (), fmt: LogFormat = "text") -> None:
    secrets = tuple(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt, secrets))
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(EventFields())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    numeric = logging.getLevelName(level)
    for name in _PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING))
    for name in _BODY_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, _OnlyAtDebug)]:
            logger.removeFilter(old)
        logger.addFilter(_OnlyAtDebug(numeric <= logging.DEBUG))
