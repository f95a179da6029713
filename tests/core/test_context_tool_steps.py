"""``whole_tool_steps``: the model is never sent a tool result without its call, nor a
call without all its results."""

from __future__ import annotations

from datetime import datetime, timezone

from core.context import whole_tool_steps
from core.types import ToolCall, Turn

_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
_ids = iter(range(1, 10_000))


def turn(role: str, content: str = "", calls: tuple[ToolCall, ...] = (), answers: str = "") -> Turn:
    return Turn(next(_ids), role, content, 5, "", "", _AT, tool_calls=calls, tool_call_id=answers)  # type: ignore[arg-type]


def asks(*ids: str) -> Turn:
    return turn("assistant", "", tuple(ToolCall(i, "time", "{}") for i in ids))


def result(call_id: str) -> Turn:
    return turn("tool", f"result of {call_id}", answers=call_id)


def test_history_without_tools_is_kept_as_it_is():
    turns = [turn("user", "hi"), turn("assistant", "hello")]
    assert whole_tool_steps(turns) == turns


def test_whole_steps_are_kept():
    turns = [turn("user", "q"), asks("a", "b"), result("a"), result("b"), asks("c"), result("c"),
             turn("assistant", "answer")]
    assert whole_tool_steps(turns) == turns


def test_results_at_the_start_whose_call_was_cut_off_are_dropped():
    # The budget cut the step in two: its call is older than the oldest turn taken.
    kept = [turn("assistant", "answer"), turn("user", "next")]
    assert whole_tool_steps([result("a"), result("b"), *kept]) == kept


def test_a_call_with_a_missing_result_is_dropped_with_its_partial_results():
    # A process stopped between running the calls and storing them all.
    before = [turn("user", "q")]
    after = [turn("assistant", "answer"), turn("user", "next")]
    assert whole_tool_steps([*before, asks("a", "b"), result("a"), *after]) == [*before, *after]


def test_a_call_with_no_results_at_the_end_is_dropped():
    before = [turn("user", "q")]
    assert whole_tool_steps([*before, asks("a")]) == before


def test_results_are_put_in_the_order_of_the_calls_and_strays_dropped():
    call, a, b, stray = asks("a", "b"), result("a"), result("b"), result("zzz")
    assert whole_tool_steps([call, b, stray, a]) == [call, a, b]


def test_a_result_after_an_ordinary_turn_is_dropped():
    turns = [turn("user", "q"), asks("a"), result("a"), turn("assistant", "x"), result("a")]
    assert whole_tool_steps(turns) == turns[:-1]


def test_a_step_whose_call_is_kept_but_not_its_first_result_is_dropped():
    # Steps of an answer re-run after a restart follow the broken one: they stay.
    turns = [turn("user", "q"), asks("a"), asks("b"), result("b"), turn("assistant", "done")]
    assert whole_tool_steps(turns) == [turns[0], *turns[2:]]
