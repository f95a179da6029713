"""Running the tool calls of one step: concurrently, bounded in time and output.

Whatever goes wrong with a call (a tool the channel may not use, arguments that are not
a JSON object, a tool that raises or takes too long) becomes an error text for the model,
which can then tell the user or try otherwise: ``run_calls`` never raises for a call
(cancelling the answer still cancels the calls). Arguments and results are logged at
DEBUG only: they may hold what users typed or what a tool read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Collection, Sequence
from typing import Any

from core import metrics
from core.text import scrub
from core.tools.policy import ToolLimits
from core.tools.registry import Tool, ToolRegistry
from core.types import ToolCall

__all__ = ["UNKNOWN_TOOL", "bounded", "run_calls"]

log = logging.getLogger(__name__)

# The ``tool`` label of a call to a tool that does not exist.
UNKNOWN_TOOL = "(unknown)"


async def run_calls(
    calls: Sequence[ToolCall],
    registry: ToolRegistry,
    enabled: Collection[str],
    limits: ToolLimits,
    deadline: float,
) -> list[str]:
    """The text the model reads for each of ``calls``, in their order.

    The calls run at the same time, each for at most ``limits.call_timeout`` seconds
    and none past ``deadline`` (a time of the running loop's clock: the answer's limit
    for tools). Only tools named in ``enabled`` (as people name them) may run.
    """
    if len(calls) == 1:  # the common case, without a task
        return [await _run(calls[0], registry, enabled, limits, deadline)]
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_run(call, registry, enabled, limits, deadline)) for call in calls]
    return [task.result() for task in tasks]


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying so: a tool may return megabytes,
    and all of it would be sent to the model with every later question."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[cut: the tool returned {len(text)} characters; only the first {limit} are shown]"


async def _run(
    call: ToolCall, registry: ToolRegistry, enabled: Collection[str], limits: ToolLimits, deadline: float
) -> str:
    tool = registry.get(call.name)
    if tool is None or tool.info.name not in enabled:
        log.info("tool call %s: no such tool here", call.name)
        # A name the model made up is not a label: labels must stay few.
        _count(tool.info.name if tool is not None else UNKNOWN_TOOL, "refused")
        return f"error: there is no tool {call.name!r} here; use only the tools you were given"
    name = tool.info.name
    arguments = _arguments(call.arguments)
    if arguments is None:
        log.info("tool %s: arguments are not a JSON object", name)
        log.debug("tool %s: arguments %r", name, call.arguments)
        _count(name, "error")
        return f"error: the arguments of tool {name!r} must be a JSON object"
    log.debug("tool %s: called with %r", name, arguments)
    started = time.perf_counter()
    text = await _call(tool, name, arguments, limits, deadline)
    log.info("tool %s: done in %.2f s", name, time.perf_counter() - started)
    log.debug("tool %s: returned %r", name, text)
    # A NUL or a lone surrogate would make the tool turn unstorable (core/text.py).
    return bounded(scrub(text), limits.max_output_chars)


async def _call(tool: Tool, name: str, arguments: dict[str, Any], limits: ToolLimits, deadline: float) -> str:
    loop = asyncio.get_running_loop()
    left = deadline - loop.time()
    if left <= 0:
        _count(name, "timeout")
        return f"error: tool {name!r} was not run: the time for tools in this answer is up"
    cut_by_deadline = left < limits.call_timeout
    try:
        async with asyncio.timeout(min(left, limits.call_timeout)) as timer:
            result = await tool.call(arguments)
    except TimeoutError as exc:
        if not timer.expired():
            return _failed(name, exc)  # the tool's own timeout, not ours
        log.warning("tool %s: stopped after %.3g s", name, min(left, limits.call_timeout))
        _count(name, "timeout")
        if cut_by_deadline:
            return f"error: tool {name!r} was stopped: the time for tools in this answer ran out"
        return f"error: tool {name!r} timed out after {limits.call_timeout:g} s"
    except Exception as exc:  # noqa: BLE001 - any failure of a tool is the model's to handle
        return _failed(name, exc)
    _count(name, "ok")
    return result if isinstance(result, str) else str(result)


def _count(tool: str, outcome: str) -> None:
    metrics.TOOL_CALLS.labels(tool, outcome).inc()


def _failed(name: str, exc: Exception) -> str:
    _count(name, "error")
    # The type at WARNING; the message and traceback (which may quote the arguments) at DEBUG.
    log.warning("tool %s: failed with %s", name, type(exc).__name__)
    log.debug("tool %s: failure", name, exc_info=exc)
    return f"error: tool {name!r} failed: {str(exc) or type(exc).__name__}"


def _arguments(text: str) -> dict[str, Any] | None:
    """The model's arguments as an object; "" (some servers send it for no arguments) is {}."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
