"""Counting the context sent to the model, and fitting the newest turns into it."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from core.tokens import TokenCounter
from core.types import Turn

__all__ = ["CHARS_PER_TOKEN", "MESSAGE_OVERHEAD", "message_tokens", "fit_newest", "whole_tool_steps"]

# Characters per token assumed when turning a share of the budget into characters of a
# file's text: low (code and logs run near 3), so that a file rarely costs more than its share.
CHARS_PER_TOKEN = 3

# Chat formats spend a few tokens per message on roles and separators.
MESSAGE_OVERHEAD = 4

# Scanned on every message, in C (``any(map(...))``): most histories have no tool steps.
_tool_calls = attrgetter("tool_calls")
_role = attrgetter("role")


def message_tokens(counter: TokenCounter, text: str) -> int:
    return counter.count(text) + MESSAGE_OVERHEAD


def fit_newest(newest_first: Sequence[Turn], budget: int) -> tuple[list[Turn], int]:
    """Take turns from newest to oldest while they fit ``budget``.

    Returns the turns that fit (newest first) and the budget left. Stops at the first
    turn that does not fit, so the context never skips a turn in the middle.
    """
    taken: list[Turn] = []
    for turn in newest_first:
        cost = turn.tokens + MESSAGE_OVERHEAD
        if cost > budget:
            break
        taken.append(turn)
        budget -= cost
    return taken, budget


def whole_tool_steps(turns: list[Turn]) -> list[Turn]:
    """``turns`` (oldest first) with their tool steps whole: every assistant turn that
    asked for tools directly followed by the results of all its calls.

    The chat API refuses a tool result without its call, and a call without its result.
    Fitting the budget can cut a step in two (its results are kept, its call is not), and
    a process that stopped mid-step leaves a call without results: such broken steps are
    left out, all of them (the call and whatever results it has).
    """
    if not any(map(_tool_calls, turns)) and "tool" not in map(_role, turns):
        return turns
    kept: list[Turn] = []
    index = 0
    while index < len(turns):
        turn = turns[index]
        index += 1
        if turn.role == "tool":
            continue  # a result whose call is not right before it
        if not turn.tool_calls:
            kept.append(turn)
            continue
        results: list[Turn] = []
        while index < len(turns) and turns[index].role == "tool":
            results.append(turns[index])
            index += 1
        step = _whole_step(turn, results)
        if step:
            kept.extend(step)
    return kept


def _whole_step(call: Turn, results: list[Turn]) -> list[Turn]:
    """The call and one result for each of its calls, in the calls' order; [] if a
    result is missing."""
    by_id: dict[str, Turn] = {}
    for result in results:
        by_id.setdefault(result.tool_call_id, result)
    answered = [by_id.get(tool_call.id) for tool_call in call.tool_calls]
    if None in answered:
        return []
    return [call, *answered]  # type: ignore[list-item]
