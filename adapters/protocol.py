"""What every adapter offers the application that runs it."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Adapter"]


class Adapter(Protocol):
    """One platform connection. It holds no conversation state of its own."""

    name: str

    async def start(self) -> None:
        """Connect; returns once connected (raises ``ConfigurationError`` or the cause)."""
        ...

    async def stop(self) -> None:
        """Disconnect. Stopping twice, or before starting, is harmless."""
        ...
