"""When to try a chat API call again, and how long to wait first.

``RetryPolicy`` is configuration plus pure arithmetic; ``RetryBudget`` tracks one call's
attempts against the policy's limits. Sleep, clock and randomness are injectable, so tests
run instantly and deterministically.
"""

from __future__ import annotations

import asyncio
import math
import random as _random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Literal

__all__ = ["Jitter", "RetryPolicy", "RetryBudget", "parse_retry_after"]

Jitter = Literal["full", "equal", "none"]

# 2**62 seconds is past any sensible max_delay; the cap keeps the float arithmetic finite.
_MAX_EXPONENT = 62


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by attempts and an overall deadline.

    ``deadline`` is in seconds from the first attempt and includes every wait; the chat
    client also stops reading an answer that is still streaming at it.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    deadline: float = 180.0
    # "full" spreads clients the most; "equal" keeps at least half the backoff.
    jitter: Jitter = "full"
    sleep: Callable[[float], Awaitable[None]] = field(
        default=asyncio.sleep, repr=False, compare=False
    )
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.deadline <= 0:
            raise ValueError("delays must not be negative and the deadline must be positive")
        if self.jitter not in ("full", "equal", "none"):
            raise ValueError(f"unknown jitter {self.jitter!r}")

    def backoff(self, attempt: int) -> float:
        """The delay ceiling after failed attempt number ``attempt`` (1-based)."""
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        return min(self.max_delay, self.base_delay * 2**exponent)

    def delay_for(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt``.

        A server's ``Retry-After`` wins over our own guess: retrying sooner would only
        be refused again. Whether the wait still fits the deadline is ``RetryBudget``'s call.
        """
        if retry_after is not None:
            return max(0.0, retry_after)
        ceiling = self.backoff(attempt)
        if self.jitter == "full":
            return ceiling * self.random()
        if self.jitter == "equal":
            return ceiling / 2 + ceiling / 2 * self.random()
        return ceiling


class RetryBudget:
    """One call's progress through a policy: how many attempts, how much time is left."""

    __slots__ = ("policy", "attempts", "_started")

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.attempts = 0
        self._started = policy.clock()

    def begin_attempt(self) -> None:
        self.attempts += 1

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once it has passed)."""
        return self.policy.deadline - (self.policy.clock() - self._started)

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """The wait before another attempt, or ``None`` to give up.

        Gives up rather than sleep past the deadline: an attempt that could not start
        before it would be wasted, and the caller is better told now.
        """
        if self.attempts >= self.policy.max_attempts:
            return None
        delay = self.policy.delay_for(self.attempts, retry_after)
        return delay if delay < self.remaining() else None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date.

    Returns ``None`` when absent or unreadable; a date in the past means "now" (0).
    """
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        return _seconds_until(value, now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until(http_date: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())
