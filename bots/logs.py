"""Logging set-up, with every configured secret masked in every log line.

Secrets are ``SecretStr`` in settings and never logged on purpose; the filter is a
second line of defence against a library that logs a request with its token in it.
Which secrets are masked where is ``core.redaction``'s rule, the chat client's too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from core.redaction import Redactor

__all__ = ["RedactSecrets", "configure_logging"]

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
        return True


class _OnlyAtDebug(logging.Filter):
    """Lets a logger's lines through only when the configured level is DEBUG."""

    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        return self.debug


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
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
