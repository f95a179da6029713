"""Log lines that anyone on the internet can cause, at a rate nobody can raise.

A refused request is worth a line to the operator (a wrong signing secret shows up this
way), but a flood of them must not fill the log. ``RateLimitedLog`` is a token bucket:
a burst of ``lines`` lines, then one every ``period / lines`` seconds; the lines it holds
back are counted, and the count rides on the next line it lets through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["RateLimitedLog"]


class RateLimitedLog:
    """At most ``lines`` lines per ``period`` seconds on ``logger``."""

    __slots__ = ("_logger", "_capacity", "_per_second", "_clock", "_tokens", "_at", "suppressed")

    def __init__(
        self, logger: logging.Logger, lines: int = 10, period: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._capacity = float(lines)
        self._per_second = lines / period
        self._clock = clock
        self._tokens = float(lines)
        self._at = clock()
        self.suppressed = 0  # lines held back since the last one let through

    def log(self, level: int, message: str, *args: object) -> bool:
        """Log ``message % args`` unless over the rate; whether it was logged."""
        if not self._logger.isEnabledFor(level):
            return False
        if not self._take():
            self.suppressed += 1
            return False
        if self.suppressed:
            message, args = f"{message} (and %d more not logged)", (*args, self.suppressed)
            self.suppressed = 0
        self._logger.log(level, message, *args, stacklevel=2)
        return True

    def _take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._per_second)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
