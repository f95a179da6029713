"""The pieces of an answer's tool loop that are not the engine's own: a step, running
its calls while the status is shown, storing it, and the words for what happened."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

from core.store.protocol import Store
from core.tokens import TokenCounter
from core.tools.policy import ToolLimits
from core.tools.registry import ToolRegistry
from core.tools.runner import run_calls
from core.types import ConversationRef, NewTurn, ToolCall, Usage

__all__ = [
    "STATUS_WAKE", "THINKING", "TOOLS_EXHAUSTED", "Notice", "Step", "apart", "run_step", "running",
    "store_step", "with_ids",
]

# While tools run, the stream wakes its reader this often (yields ""), so that a status
# held back by a platform's edit throttle is shown once the throttle allows.
STATUS_WAKE = 0.5
# The status between a tool step and the model's next words.
THINKING = "Thinking…"
# The answer when the model still asked for tools after its last step, writing nothing.
TOOLS_EXHAUSTED = (
    "I used the tools as often as one answer may and have no answer yet. "
    "Please ask again, perhaps with a narrower question."
)


@dataclass(slots=True)
class Step:
    """One model call of an answer: the text it wrote, the tools it asked for, its usage."""

    parts: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass(frozen=True, slots=True)
class Notice:
    """Text of ours in the model's stream (``IMAGES_REFUSED``): shown, never stored."""

    text: str


def apart(steps: list[Step], shown: str, first: str) -> str:
    """The last step's first words as shown: set apart from what earlier steps wrote
    (only shown that way; each step is stored with its own text)."""
    if not any(step.parts for step in steps[:-1]):
        return first
    if shown.endswith("\n\n") or first.startswith("\n\n"):
        return first
    return ("\n" if shown.endswith("\n") else "\n\n") + first


def with_ids(calls: list[ToolCall], step: int) -> tuple[ToolCall, ...]:
    """The calls with an id each, unique in the step (a tool result names its call by
    it; some local servers send none)."""
    seen: set[str] = set()
    named = []
    for index, call in enumerate(calls):
        if not call.id or call.id in seen:
            call = replace(call, id=f"call_{step}_{index}")
        seen.add(call.id)
        named.append(call)
    return tuple(named)


def running(calls: tuple[ToolCall, ...], registry: ToolRegistry) -> str:
    """"Running time…", "Running github.search_issues, fetch_url…": the tools by the names
    people know them by."""
    names: dict[str, None] = {}
    for call in calls:
        tool = registry.get(call.name)
        names[tool.info.name if tool is not None else call.name] = None
    return f"Running {', '.join(names)}…"


async def run_step(
    calls: tuple[ToolCall, ...], tools: ToolRegistry, enabled: frozenset[str], limits: ToolLimits,
    deadline: float, results: list[str],
) -> AsyncIterator[str]:
    """Run one step's calls, their results into ``results``; yields "" every
    ``STATUS_WAKE`` seconds meanwhile, so that the reader can show the status."""
    calling = asyncio.ensure_future(run_calls(calls, tools, enabled, limits, deadline))
    try:
        while not calling.done():
            await asyncio.wait((calling,), timeout=STATUS_WAKE)
            if not calling.done():
                yield ""
    finally:
        if not calling.done():  # the answer was cancelled or closed: so are its tools
            calling.cancel()
            await asyncio.gather(calling, return_exceptions=True)
    results.extend(calling.result())


async def store_step(
    store: Store, counter: TokenCounter, conversation: ConversationRef, event_id: str, step: Step,
    calls: tuple[ToolCall, ...], results: list[str],
) -> None:
    """Store a tool step: the model's calls (with any text it wrote), then each result.
    In this order and whole, or the history leaves the step out."""
    assert step.usage is not None
    await store.add_turn(
        conversation, NewTurn("assistant", step.text, step.usage.completion_tokens, event_id=event_id,
                              tool_calls=calls))
    for call, result in zip(calls, results):
        await store.add_turn(
            conversation, NewTurn("tool", result, counter.count(result), event_id=event_id,
                                  tool_call_id=call.id))
