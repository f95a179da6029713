"""What every adapter offers the application that runs it."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Adapter"]


class Adapter(Protocol):
    """One platform connection. It holds no conversation state of its own."""

    name: str

    @property
    def connected(self) -> bool:
        """Whether it can take events now (``/readyz``): started, its platform connection
        up, and not stopping. A cheap look at state, never a request."""
        ...

    async def start(self) -> None:
        """Connect; returns once connected (raises ``ConfigurationError`` or the cause)."""
        ...

    async def stop(self) -> None:
        """Disconnect. Stopping twice, or before starting, is harmless."""
        ...
