"""Slack's HTTP requests, checked before Bolt sees them.

Bolt parses a body before it verifies its signature, and answers a body it cannot parse
(not JSON, not UTF-8, nested too deep, a timestamp that is not a number) with a 500 and
an ERROR traceback: anyone on the internet could fill the log, 2 KB per 40-byte request.
So a request is checked here first, cheapest check first, and refused with a short
answer and at most one rate-limited WARNING line, never its body:

- 413: a body over ``MAX_BODY_BYTES``, judged by its Content-Length before anything is
  read, or by counting as it is read (chunked); never buffered past the limit;
- 400: a body cut off (the client went away) or badly framed or compressed;
- 400: a body that is not UTF-8 (Slack signs and sends UTF-8 text);
- 401: a missing or malformed timestamp or signature, or one that does not verify
  (slack_sdk's ``SignatureVerifier``: HMAC, and at most 5 minutes old);
- 400: a signed body Bolt cannot parse, that is not a JSON object, nests deeper than
  ``MAX_DEPTH``, or is an event without an event object.

A signed slash command without the fields it needs is ignored with a DEBUG line (200),
as are events with broken fields (``events.decide``). After Bolt, ``acknowledged`` turns
its 404 for a request no listener handles (an event type the app does not use) into a
quiet 200: Slack counts a 404 as a failed delivery and sends the event again.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from adapters.common.log_limit import RateLimitedLog
from adapters.slack.commands import command_problem

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "acknowledged", "checked_request"]

log = logging.getLogger(__name__)

# Slack's largest payloads (a 40,000-character message with its blocks, a modal's
# state) stay far below this; it is also the shared HTTP server's own bound.
MAX_BODY_BYTES = 1024 * 1024
# Slack's blocks nest about a dozen levels deep. Far deeper, Bolt and the json module
# recurse towards Python's recursion limit.
MAX_DEPTH = 64
# Seconds since the epoch, as digits: ten now, sixteen is generous and keeps int() cheap.
_MAX_TIMESTAMP_DIGITS = 16
# What Bolt raises while parsing a body of the wrong shape (json's errors are ValueErrors).
_SHAPE_ERRORS = (ValueError, RecursionError, TypeError, AttributeError, KeyError, IndexError)

_refusals = RateLimitedLog(log, lines=10, period=60.0)


class _UnhandledRequestFilter(logging.Filter):
    """Drops Bolt's "Unhandled request" WARNING: ``acknowledged`` says it at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Unhandled request"))


_BOLT_APP_LOGGER = logging.getLogger("slack_bolt.AsyncApp")
_UNHANDLED_FILTER = _UnhandledRequestFilter()


async def checked_request(request: web.Request, signing_secret: str) -> AsyncBoltRequest | web.Response:
    """The request for Bolt, or the answer that refuses (or quietly ignores) it."""
    body = await _read_body(request, MAX_BODY_BYTES)
    if isinstance(body, tuple):
        return _refuse(request, *body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _refuse(request, 400, "body is not UTF-8")
    if not _signed(request, text, signing_secret):
        return _refuse(request, 401, "no valid signature")
    parsed = _parsed(request, text)
    if isinstance(parsed, str):
        return _refuse(request, 400, parsed)
    ignored = _ignored(parsed.body)
    if ignored:
        log.debug("ignoring a Slack request: %s", ignored)
        return web.Response(status=200)
    # Idempotent; here rather than at import, where it would touch logging as a side effect.
    _BOLT_APP_LOGGER.addFilter(_UNHANDLED_FILTER)
    return parsed


def acknowledged(request: AsyncBoltRequest, response: BoltResponse) -> BoltResponse:
    """Bolt's response, with its 404 for an authentic request no listener handles made 200."""
    if response.status != 404:
        return response
    log.debug("ignoring a Slack request no listener handles (%s)", _describe(request.body))
    return BoltResponse(status=200, body="")


async def _read_body(request: web.Request, limit: int) -> bytes | tuple[int, str]:
    """The body, or the status and reason to refuse it with (what is left is not read).

    Not ``request.read()``: over its own limit it raises, and the exception's traceback
    keeps the megabyte read so far alive in a reference cycle until the collector runs
    (about 1.5 MB a request, a gigabyte in 300 requests). For the same reason the chunks
    are dropped here when the client goes away in mid-body, before the error escapes.
    """
    if request.content_length is not None and request.content_length > limit:
        return 413, "body over the size limit"
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > limit:
                return 413, "body over the size limit"
            chunks.append(chunk)
    except (ConnectionError, HttpProcessingError):
        chunks.clear()
        return 400, "body cut off or badly encoded"
    return b"".join(chunks)


def _signed(request: web.Request, text: str, signing_secret: str) -> bool:
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    # The verifier would raise on these: int() on a timestamp that is not a number, and
    # hmac.compare_digest on a signature that is not ASCII.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
        return False
    if not signature.isascii():
        return False
    return SignatureVerifier(signing_secret).is_valid(text, timestamp, signature)


def _parsed(request: web.Request, text: str) -> AsyncBoltRequest | str:
    """The request as Bolt reads it, or why it cannot be read."""
    try:
        parsed = AsyncBoltRequest(body=text, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
    except _SHAPE_ERRORS as exc:
        return f"body cannot be parsed ({type(exc).__name__})"
    body = parsed.body
    if not isinstance(body, dict):
        return "body is not an object"
    if _too_deep(body):
        return f"body nests deeper than {MAX_DEPTH}"
    if body.get("type") == "event_callback" and not isinstance(body.get("event"), dict):
        return "event is not an object"
    return parsed


def _too_deep(body: dict[str, object]) -> bool:
    """Whether objects and arrays nest deeper than ``MAX_DEPTH`` (walked, not recursed)."""
    stack: list[tuple[dict[str, object] | list[object], int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        for child in value.values() if isinstance(value, dict) else value:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def _ignored(body: dict[str, object]) -> str:
    """Why an authentic request is ignored before Bolt ("" when it is not)."""
    if "command" in body:
        # A slash command's handler reads these fields before anything else.
        return command_problem(body)
    return ""


def _describe(body: dict[str, object]) -> str:
    event = body.get("event")
    if isinstance(event, dict):
        return f"event {str(event.get('type'))[:40]!r}"
    return f"type {str(body.get('type') or body.get('command'))[:40]!r}"


def _refuse(request: web.Request, status: int, reason: str) -> web.Response:
    _refusals.log(logging.WARNING, "refused a request to %s from %s: %d, %s", request.path, request.remote, status, reason)
    return web.Response(status=status, text=reason)
