"""A history that keeps its prefix: cache-friendly trimming of the context.

Providers (OpenAI, Azure, vLLM, llama.cpp, Anthropic-compatible gateways) reuse the
longest prefix a request shares with an earlier one and bill those tokens for less.
Dropping the oldest turn on every message, as ``fit_newest`` alone would once a
conversation fills its budget, changes the prefix right after the system prompt every
time, so almost nothing is reused.

Instead, each conversation's window has a start (the id of its oldest turn) that stays
put while the turns from it fit the budget. When they no longer do, old turns are
dropped in one block, enough to free ``share`` of the budget: the requests after that
share their prefix again until the budget is full once more.

The cost is context: the window holds between (1 - share) and all of the budget, so on
average ``share / 2`` less than dropping one turn at a time (see bench/README.md:
"Prompt caching" for the figures). ``share`` = 0 is the old behaviour.

The starts are kept in memory (bounded, least recently used first out): after a
restart, or on another replica, a conversation's next request trims afresh, which costs
one request's cache and nothing else.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Hashable, Sequence

from core.context import fit_newest
from core.types import Turn

__all__ = ["ContextStarts", "stable_window"]

# Conversations whose start is remembered; past that, the least recently used is forgotten.
_REMEMBERED = 10_000


def _minus_id(turn: Turn) -> int:
    return -turn.id


def stable_window(
    fitted: Sequence[Turn], overflowed: bool, budget: int, start: int | None, share: float,
) -> tuple[list[Turn], int | None]:
    """The turns to send (newest first) and the window's start from now on.

    ``fitted``: the newest turns that fit ``budget``, newest first (``fit_newest``'s);
    ``overflowed``: older turns did not fit. ``start``: the previous window's oldest
    turn id (None: the conversation's first turn).
    """
    if share <= 0:
        return list(fitted), None
    if start is not None and fitted and fitted[-1].id <= start <= fitted[0].id:
        # The window from its start still fits: keep the start, even where older turns
        # would fit too (they would change the prefix). Ids fall from newest to oldest:
        # the turns from the start are a prefix of ``fitted``, found by bisection.
        return list(fitted[: bisect_right(fitted, -start, key=_minus_id)]), start
    if not overflowed:
        return list(fitted), None  # all of it fits: from the first turn
    # Full: drop old turns in one block, keeping at most (1 - share) of the budget.
    kept, _ = fit_newest(fitted, int(budget * (1 - share)))
    if not kept and fitted:
        kept = [fitted[0]]  # the newest turn fits the budget though not the share: keep it
    return kept, kept[-1].id if kept else None


class ContextStarts:
    """Each conversation's window start, in memory, bounded."""

    __slots__ = ("_starts", "_size")

    def __init__(self, size: int = _REMEMBERED) -> None:
        self._starts: OrderedDict[Hashable, int] = OrderedDict()
        self._size = size

    def get(self, conversation: Hashable) -> int | None:
        start = self._starts.get(conversation)
        if start is not None:
            self._starts.move_to_end(conversation)
        return start

    def set(self, conversation: Hashable, start: int | None) -> None:
        if start is None:
            self._starts.pop(conversation, None)
            return
        self._starts[conversation] = start
        self._starts.move_to_end(conversation)
        if len(self._starts) > self._size:
            self._starts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._starts)
