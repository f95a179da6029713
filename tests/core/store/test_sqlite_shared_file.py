"""Two plain ``SQLiteStore``s on one file, as two processes would have: each sees what the
other wrote, at once (the stale caches of issue "two SQLiteStores on one file")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from core.store import SQLiteStore
from core.types import ConversationRef, NewTurn, Persona, Usage, UsageTotals

CONVERSATION = ConversationRef("slack", "T1", "C1", "1700000000.000100")
CHANNEL = CONVERSATION.channel_ref
DAY = date(2024, 5, 1)


@pytest.fixture
async def pair(db_path: Path) -> AsyncIterator[tuple[SQLiteStore, SQLiteStore]]:
    async with SQLiteStore(db_path) as first, SQLiteStore(db_path) as second:
        yield first, second


async def contents(store: SQLiteStore) -> list[str]:
    return [turn.content for turn in await store.recent_turns(CONVERSATION, 10)]


async def test_a_forget_through_one_is_seen_by_the_other(pair: tuple[SQLiteStore, SQLiteStore]) -> None:
    first, second = pair
    await first.add_turn(CONVERSATION, NewTurn("user", "remember me", 1))
    assert await contents(second) == ["remember me"]

    assert await first.forget(CONVERSATION) == 1

    assert await contents(second) == []


async def test_turns_added_through_one_are_seen_by_the_other(pair: tuple[SQLiteStore, SQLiteStore]) -> None:
    first, second = pair
    await second.add_turn(CONVERSATION, NewTurn("user", "one", 1))
    assert await contents(second) == ["one"]

    await first.add_turn(CONVERSATION, NewTurn("user", "two", 1))
    await first.seed_turns(CONVERSATION, [NewTurn("user", "three", 1)])

    assert await contents(second) == ["one", "two", "three"]


async def test_a_persona_set_through_one_is_seen_by_the_other(pair: tuple[SQLiteStore, SQLiteStore]) -> None:
    first, second = pair
    assert await second.get_persona(CHANNEL) is None

    await first.set_persona(CHANNEL, Persona("Be brief."), "U1", "ada")
    assert await second.get_persona(CHANNEL) == Persona("Be brief.")

    await first.set_persona(CHANNEL, None, "U1", "ada")
    assert await second.get_persona(CHANNEL) is None


async def test_usage_counted_by_one_is_seen_by_the_other(pair: tuple[SQLiteStore, SQLiteStore]) -> None:
    first, second = pair
    assert await second.usage(CHANNEL, DAY) == UsageTotals(Usage(0, 0), Usage(0, 0))

    await first.add_reply(CONVERSATION, NewTurn("assistant", "x", 1), Usage(7, 3), DAY)

    assert await second.usage(CHANNEL, DAY) == UsageTotals(Usage(7, 3), Usage(7, 3))
