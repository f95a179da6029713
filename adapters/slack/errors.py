"""Reading Slack API failures."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from core.model.retry import parse_retry_after

__all__ = ["slack_error", "retry_after"]

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
