"""Reading Slack API failures."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

__all__ = ["slack_error", "retry_after"]


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
    value = headers.get("retry-after", "1")
    value = value[0] if isinstance(value, list) else value
    try:
        return max(0.0, float(value))
    except ValueError:
        return 1.0
