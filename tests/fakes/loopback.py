"""The base of every fake server: an aiohttp app on 127.0.0.1 at a port the OS picks.

Subclasses build their app in ``build_app``; tests use them as async context managers
and wait on state with ``wait_for`` (woken by ``changed()``), never with sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

__all__ = ["LoopbackServer"]


class LoopbackServer:
    # A short shutdown grace: fakes release their waiting handlers before stopping.
    shutdown_timeout = 1.0

    def __init__(self) -> None:
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()

    def build_app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=self.shutdown_timeout)
        await self._runner.setup()
        # A deep backlog lets a burst of concurrent clients connect at once.
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def before_stop(self) -> None:
        """Release long-lived handlers (hanging requests, websockets) before shutdown."""

    async def stop(self) -> None:
        """Safe to repeat."""
        await self.before_stop()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def changed(self) -> None:
        """Wake every ``wait_for``: the fake's state has changed."""
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every change); return it."""
        async with asyncio.timeout(timeout), self._changed:
            result = predicate()
            while not result:
                await self._changed.wait()
                result = predicate()
            return result
