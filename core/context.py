"""Counting the context sent to the model, and fitting the newest turns into it."""

from __future__ import annotations

from collections.abc import Sequence

from core.tokens import TokenCounter
from core.types import Turn

__all__ = ["MESSAGE_OVERHEAD", "message_tokens", "fit_newest"]

# Chat formats spend a few tokens per message on roles and separators.
MESSAGE_OVERHEAD = 4


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
