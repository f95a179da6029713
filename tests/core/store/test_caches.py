"""The store's in-memory caches on their own: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime

from core.store.caches import MISSING, LruCache, RecentTurns
from core.types import ConversationRef, Turn

A = ConversationRef("slack", "T1", "C1", "a")
B = ConversationRef("slack", "T1", "C1", "b")
WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def turn(turn_id: int) -> Turn:
    return Turn(turn_id, "user", f"t{turn_id}", 1, "U1", "ada", WHEN)


def ids(turns: list[Turn] | None) -> list[int] | None:
    return None if turns is None else [t.id for t in turns]


def test_lru_keeps_none_as_a_value_and_drops_the_least_recently_used() -> None:
    cache: LruCache[str, int | None] = LruCache(2)
    cache.put("a", None)
    cache.put("b", 2)
    assert cache.get("a") is None  # a cached None, and "a" is now the most recent
    cache.put("c", 3)

    assert cache.get("b") is MISSING
    assert (cache.get("a"), cache.get("c"), len(cache)) == (None, 3, 2)


def test_an_unknown_conversation_is_a_miss() -> None:
    assert RecentTurns().get(A, 10, None) is None


def test_a_loaded_window_answers_from_the_top_and_before_an_id() -> None:
    recent = RecentTurns(depth=10)
    recent.load(A, [turn(i) for i in (3, 5, 8, 9)], complete=False)

    assert ids(recent.get(A, 2, None)) == [8, 9]
    assert ids(recent.get(A, 2, before_id=8)) == [3, 5]
    # More than the window holds of an incomplete conversation: the database must answer.
    assert recent.get(A, 3, before_id=8) is None
    assert recent.get(A, 5, None) is None


def test_a_complete_window_answers_short_requests_with_all_it_has() -> None:
    recent = RecentTurns(depth=10)
    recent.load(A, [turn(1), turn(2)], complete=True)

    assert ids(recent.get(A, 50, None)) == [1, 2]
    assert ids(recent.get(A, 50, before_id=2)) == [1]
    assert ids(recent.get(A, 50, before_id=1)) == []


def test_added_turns_extend_the_window_and_the_oldest_fall_off_at_depth() -> None:
    recent = RecentTurns(depth=3)
    recent.load(A, [turn(1), turn(2)], complete=True)
    recent.added(A, turn(3))
    assert ids(recent.get(A, 10, None)) == [1, 2, 3]

    recent.added(A, turn(4))

    assert ids(recent.get(A, 3, None)) == [2, 3, 4]
    assert recent.get(A, 4, None) is None  # turn 1 is no longer held, so no longer complete
    assert recent.held == 3


def test_a_turn_added_to_a_conversation_not_held_is_not_held() -> None:
    recent = RecentTurns()
    recent.added(A, turn(1))

    assert recent.get(A, 1, None) is None
    assert recent.held == 0


def test_a_forgotten_conversation_is_known_empty() -> None:
    recent = RecentTurns()
    recent.load(A, [turn(1)], complete=False)
    recent.forgotten(A)

    assert recent.get(A, 10, None) == []
    recent.added(A, turn(2))
    assert ids(recent.get(A, 10, None)) == [2]


def test_turns_reported_out_of_order_are_held_in_id_order_and_once() -> None:
    recent = RecentTurns(depth=4)
    recent.load(A, [turn(2), turn(5)], complete=True)

    recent.added(A, turn(8))
    recent.added(A, turn(6))  # committed before 8, reported after it
    recent.added(A, turn(6))
    assert (ids(recent.get(A, 10, None)), recent.held) == ([2, 5, 6, 8], 4)

    recent.added(A, turn(7))  # over depth: the oldest goes, and with it completeness
    assert ids(recent.get(A, 4, None)) == [5, 6, 7, 8]
    recent.added(A, turn(3))  # older than a window that is not the whole conversation
    assert (ids(recent.get(A, 4, None)), recent.held) == ([5, 6, 7, 8], 4)


def test_a_window_longer_than_depth_keeps_the_newest_and_is_incomplete() -> None:
    recent = RecentTurns(depth=2)
    recent.load(A, [turn(1), turn(2), turn(3)], complete=True)

    assert ids(recent.get(A, 2, None)) == [2, 3]
    assert recent.get(A, 3, None) is None


def test_capacity_drops_the_least_recently_used_conversations() -> None:
    recent = RecentTurns(depth=10, capacity=4)
    recent.load(A, [turn(1), turn(2)], complete=True)
    recent.load(B, [turn(3), turn(4)], complete=True)
    assert recent.get(A, 1, None) is not None  # A is now the most recently used

    recent.added(B, turn(5))  # 5 turns held: over capacity

    assert recent.get(A, 1, None) is None
    assert ids(recent.get(B, 10, None)) == [3, 4, 5]
    assert recent.held == 3


def test_discard_and_clear_stop_holding() -> None:
    recent = RecentTurns()
    recent.load(A, [turn(1)], complete=True)
    recent.load(B, [turn(2)], complete=True)
    recent.discard(A)
    assert (recent.get(A, 1, None), recent.held) == (None, 1)

    recent.clear()
    assert (recent.get(B, 1, None), recent.held) == (None, 0)


def test_a_complete_cache_stops_being_complete_when_it_drops_an_entry() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.complete = True
    cache.put("a", 10)  # replaced, nothing dropped
    assert cache.complete
    cache.put("c", 3)  # "b" is dropped
    assert not cache.complete and cache.get("b") is MISSING
    cache.complete = True
    cache.clear()
    assert not cache.complete
