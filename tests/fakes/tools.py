"""Tools for tests: a function as a tool, and a tool that waits until the test lets it go.

``FunctionTool("time", lambda args: "noon")`` answers with what the function returns (an
async function is awaited); ``GatedTool("slow")`` records that it started and finishes
only once ``release()`` is called, so tests prove concurrency and show progress with
events, not sleeps.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from core.tools.registry import ToolInfo

__all__ = ["FunctionTool", "GatedTool", "info"]

_OBJECT = {"type": "object", "properties": {}}


def info(name: str, description: str = "") -> ToolInfo:
    return ToolInfo(name, description or f"The {name} tool.", _OBJECT, source="tests")


class FunctionTool:
    def __init__(self, name: str, function: Callable[[dict[str, Any]], Any]) -> None:
        self.info = info(name)
        self._function = function
        self.arguments: list[dict[str, Any]] = []

    async def call(self, arguments: dict[str, Any]) -> str:
        self.arguments.append(arguments)
        result = self._function(arguments)
        if inspect.isawaitable(result):
            result = await result
        return result


class GatedTool:
    """Returns ``result`` once released; ``started`` is set when a call begins."""

    def __init__(self, name: str, result: str = "done") -> None:
        self.info = info(name)
        self.result = result
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()
        self._gate = asyncio.Event()
        self.calls = 0

    def release(self) -> None:
        self._gate.set()

    async def call(self, arguments: dict[str, Any]) -> str:
        self.calls += 1
        self.started.set()
        try:
            await self._gate.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return self.result
