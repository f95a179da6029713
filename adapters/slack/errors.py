"""Reading Slack API failures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from slack_sdk.errors import SlackApiError

from adapters.common.throttle import EditRateLimited
from core.model.retry import parse_retry_after

__all__ = ["edits_rate_limited", "retry_after", "slack_error", "waiting_out_429"]

_T = TypeVar("_T")

_DEFAULT_RETRY_AFTER = 1.0


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code (``ratelimited``, ``invalid_auth``…), or the HTTP status."""
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {getattr(exc.response, 'status_code', '?')}"


def retry_after(exc: SlackApiError) -> float | None:
    """Seconds to wait when Slack answered 429; None for any other failure."""
    response = exc.response
    if response is None or response.status_code != 429:
        return None
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after")
    value = value[0] if isinstance(value, list) else value
    seconds = parse_retry_after(value)
    # A 429 without a readable Retry-After still means "wait": a second is Slack's usual.
    return _DEFAULT_RETRY_AFTER if seconds is None else seconds


async def waiting_out_429(call: Callable[[], Awaitable[_T]], attempts: int) -> _T:
    """``call()``, waiting out Slack's ``Retry-After`` on a 429, ``attempts`` tries in all."""
    for attempt in range(attempts):
        try:
            return await call()
        except SlackApiError as exc:
            wait = retry_after(exc)
            if wait is None or attempt == attempts - 1:
                raise
            await asyncio.sleep(wait)
    raise ValueError("attempts must be at least 1")


@contextmanager
def edits_rate_limited() -> Iterator[None]:
    """Inside it, Slack's 429 becomes ``EditRateLimited`` for a ``ThrottledEditor``."""
    try:
        yield
    except SlackApiError as exc:
        wait = retry_after(exc)
        if wait is None:
            raise
        raise EditRateLimited(wait) from exc
