"""Cache-friendly trimming (core/stable_context.py): the window's start stays put while
it fits, and moves in blocks; never over the budget; always the newest turns."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings, strategies as st

from core.context import MESSAGE_OVERHEAD, fit_newest
from core.stable_context import ContextStarts, stable_window
from core.types import Turn

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def turns(sizes: list[int]) -> list[Turn]:
    """Oldest first, ids 1, 2, …"""
    return [Turn(i + 1, "user" if i % 2 == 0 else "assistant", "x", size, "", "", NOW)
            for i, size in enumerate(sizes)]


def window(history: list[Turn], budget: int, start: int | None, share: float) -> tuple[list[Turn], int | None]:
    fitted, _ = fit_newest(history[::-1], budget)
    return stable_window(fitted, len(fitted) < len(history), budget, start, share)


def cost(kept: list[Turn]) -> int:
    return sum(turn.tokens + MESSAGE_OVERHEAD for turn in kept)


def test_everything_fits_so_nothing_is_dropped_and_no_start_is_kept() -> None:
    history = turns([10] * 5)
    kept, start = window(history, 1000, None, 0.25)
    assert [t.id for t in kept] == [5, 4, 3, 2, 1] and start is None


def test_a_full_budget_frees_its_share_at_once() -> None:
    history = turns([96] * 11)  # 100 each with the overhead; the budget holds 10
    kept, start = window(history, 1000, None, 0.25)
    assert [t.id for t in kept] == [11, 10, 9, 8, 7, 6, 5]  # 700 of 1000: 25% freed and more
    assert start == 5


def test_the_start_stays_while_the_window_from_it_fits() -> None:
    history = turns([96] * 11)
    _, start = window(history, 1000, None, 0.25)
    for more in range(12, 15):  # three more turns: 1000 from turn 5 to 14
        history += turns([96] * more)[-1:]
        kept, start = window(history, 1000, start, 0.25)
        assert kept[-1].id == 5 and start == 5
    history += turns([96] * 15)[-1:]  # the fourth no longer fits: a new block goes
    kept, start = window(history, 1000, start, 0.25)
    assert kept[-1].id == 9 and start == 9


def test_older_turns_that_would_fit_again_do_not_come_back() -> None:
    history = turns([96] * 11)
    kept, start = window(history, 1000, 5, 0.25)
    assert kept[-1].id == 5  # turns 2..4 would fit, but would change the prefix


def test_share_zero_is_one_turn_at_a_time() -> None:
    history = turns([96] * 11)
    kept, start = window(history, 1000, None, 0.0)
    assert [t.id for t in kept] == list(range(11, 1, -1)) and start is None


def test_a_forgotten_start_is_trimmed_afresh() -> None:
    history = turns([96] * 11)
    kept, start = window(history, 1000, 999, 0.25)  # a start that is not in the history
    assert kept[-1].id == 5 and start == 5


def test_a_single_turn_above_the_share_but_within_the_budget_is_kept() -> None:
    history = turns([96, 900])
    kept, _ = window(history, 1000, None, 0.25)
    assert [t.id for t in kept] == [2]


@settings(max_examples=60, deadline=None, database=None)
@given(sizes=st.lists(st.integers(1, 400), min_size=1, max_size=60),
       budget=st.integers(200, 3000), share=st.sampled_from([0.1, 0.25, 0.5]))
def test_replaying_a_conversation_never_exceeds_the_budget_and_keeps_the_newest(
    sizes: list[int], budget: int, share: float
) -> None:
    history: list[Turn] = []
    start = None
    for size in sizes:
        history = turns(sizes[: len(history) + 1])
        kept, start = window(history, budget, start, share)
        assert cost(kept) <= budget
        ids = [t.id for t in kept]
        assert ids == list(range(len(history), len(history) - len(ids), -1))  # newest, no gaps
        if history[-1].tokens + MESSAGE_OVERHEAD <= budget:
            assert ids and ids[0] == len(history)


def test_starts_are_bounded_and_dropped_when_none() -> None:
    starts = ContextStarts(size=2)
    starts.set("a", 1)
    starts.set("b", 2)
    starts.get("a")
    starts.set("c", 3)  # "b" was used least recently
    assert (starts.get("a"), starts.get("b"), starts.get("c"), len(starts)) == (1, None, 3, 2)
    starts.set("a", None)
    assert starts.get("a") is None and len(starts) == 1


@settings(max_examples=100, deadline=None, database=None)
@given(sizes=st.lists(st.integers(0, 300), max_size=80), budget=st.integers(-10, 5000))
def test_fit_newest_takes_the_newest_turns_while_they_fit_and_no_more(sizes: list[int], budget: int) -> None:
    newest_first = turns(sizes)[::-1]
    taken, left = fit_newest(newest_first, budget)
    # The definition, one turn at a time: stop at the first turn that does not fit.
    expected, room = [], budget
    for turn in newest_first:
        if turn.tokens + MESSAGE_OVERHEAD > room:
            break
        expected.append(turn)
        room -= turn.tokens + MESSAGE_OVERHEAD
    assert (taken, left) == (expected, room)
