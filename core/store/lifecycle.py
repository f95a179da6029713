"""What every store does the same way: ``async with store:`` opens it and closes it."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

__all__ = ["OpenedInContext"]


class _Opens(Protocol):
    async def open(self) -> None: ...

    async def aclose(self) -> None: ...


class OpenedInContext:
    """Mixin: ``async with`` calls ``open()`` on entry and ``aclose()`` on exit."""

    async def __aenter__(self: _Opens) -> Self:  # type: ignore[misc]
        await self.open()
        return self  # type: ignore[return-value]

    async def __aexit__(
        self: _Opens,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
