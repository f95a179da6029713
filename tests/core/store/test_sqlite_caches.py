"""The SQLite store's caches and grouped writes: they must never disagree with the file.

Each test checks the store's answer against the database itself (a plain ``sqlite3``
connection) or against a fresh store on the same file, which has no caches yet.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from core.errors import StoreError
from core.store import SQLiteStore
from core.store import sqlite as sqlite_module
from core.types import ChannelRef, ConversationRef, NewTurn, Persona, Usage, UsageTotals
from tests.core.store.conftest import RawConnect, count_trips

CONVERSATION = ConversationRef("slack", "T1", "C1", "1700000000.000100")
CHANNEL = CONVERSATION.channel_ref
DAY = date(2024, 5, 1)


async def fresh_view(db_path: Path, conversation: ConversationRef) -> list[str]:
    async with SQLiteStore(db_path) as other:
        return [t.content for t in await other.recent_turns(conversation, 10_000)]


async def test_turns_of_many_conversations_at_once_share_inserts_and_land_right(
    store: SQLiteStore, trips: list[object], db_path: Path
) -> None:
    conversations = [ConversationRef("slack", "T1", f"C{n}", "") for n in range(50)]
    for conversation in conversations:  # learn every conversation id first
        await store.add_turn(conversation, NewTurn("user", "hello", 1))
    trips.clear()

    stored = await asyncio.gather(*(
        store.add_reply(conversation, NewTurn("assistant", f"answer {n}", 2), Usage(3, 2), DAY)
        for n, conversation in enumerate(conversations)
    ))

    assert len(trips) < 10, "50 replies should share a few INSERTs, not take 50 trips"
    assert len({t.id for t in stored}) == 50
    for n, conversation in enumerate(conversations):
        assert await fresh_view(db_path, conversation) == ["hello", f"answer {n}"]
        assert (await store.usage(conversation.channel_ref, DAY)).today == Usage(3, 2)


async def test_one_bad_row_in_a_batch_fails_alone(store: SQLiteStore, db_path: Path) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "first", 1))
    # A role the schema refuses (the CHECK constraint), among good rows.
    bad = NewTurn("system", "refused", 1)  # type: ignore[arg-type]

    results = await asyncio.gather(
        store.add_turn(CONVERSATION, NewTurn("user", "a", 1)),
        store.add_turn(CONVERSATION, bad),
        store.add_turn(CONVERSATION, NewTurn("user", "b", 1)),
        return_exceptions=True,
    )

    assert isinstance(results[1], StoreError)
    assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == ["first", "a", "b"]
    assert await fresh_view(db_path, CONVERSATION) == ["first", "a", "b"]


async def test_a_failed_reply_leaves_the_cached_history_and_usage_as_they_were(
    store: SQLiteStore, raw: RawConnect
) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "question", 1))
    await store.recent_turns(CONVERSATION, 10)  # cached now
    before = await store.usage(CHANNEL, DAY)
    raw().execute(
        "CREATE TRIGGER fail_usage BEFORE INSERT ON usage_daily "
        "BEGIN SELECT RAISE(ABORT, 'usage refused'); END"
    )

    with pytest.raises(StoreError, match="usage refused"):
        await store.add_reply(CONVERSATION, NewTurn("assistant", "lost", 1), Usage(5, 1), DAY)

    assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == ["question"]
    assert await store.usage(CHANNEL, DAY) == before


async def test_cached_usage_follows_replies_and_a_new_day_is_read_afresh(
    store: SQLiteStore, db_path: Path
) -> None:
    await store.add_reply(CONVERSATION, NewTurn("assistant", "x", 1), Usage(10, 1), DAY)
    assert await store.usage(CHANNEL, DAY) == UsageTotals(Usage(10, 1), Usage(10, 1))

    await store.add_reply(CONVERSATION, NewTurn("assistant", "y", 1), Usage(5, 2), DAY)
    next_day = date(2024, 5, 2)
    await store.add_reply(CONVERSATION, NewTurn("assistant", "z", 1), Usage(1, 1), next_day)

    assert await store.usage(CHANNEL, DAY) == UsageTotals(Usage(15, 3), Usage(16, 4))
    assert await store.usage(CHANNEL, next_day) == UsageTotals(Usage(1, 1), Usage(16, 4))
    async with SQLiteStore(db_path) as other:
        assert await other.usage(CHANNEL, DAY) == UsageTotals(Usage(15, 3), Usage(16, 4))


async def test_cached_personas_follow_set_and_reset(store: SQLiteStore) -> None:
    assert await store.get_persona(CHANNEL) is None  # cached as "none"

    await store.set_persona(CHANNEL, Persona("Be brief."), "U1", "ada")
    assert await store.get_persona(CHANNEL) == Persona("Be brief.")

    await store.set_persona(CHANNEL, None, "U1", "ada")
    assert await store.get_persona(CHANNEL) is None


async def test_histories_missed_at_once_are_read_in_one_statement(
    db_path: Path, raw: RawConnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversations = [ConversationRef("slack", "T1", f"C{i}", "1.0") for i in range(30)]
    async with SQLiteStore(db_path) as first:
        for i, conversation in enumerate(conversations[:20]):  # ten have no row at all
            await first.seed_turns(conversation, [NewTurn("user", f"{i}:{n}", 1) for n in range(i % 4)])
    raw().execute("INSERT INTO turns (conversation_id, role, content, tokens, author_id, author_name, created_at) "
                  "SELECT id, 'user', 'written by another hand', 1, 'U9', 'eve', created_at FROM conversations LIMIT 1")

    async with SQLiteStore(db_path) as store:
        trips = count_trips(store, monkeypatch)
        windows = await asyncio.gather(*(store.recent_turns(c, 64) for c in conversations))

        assert 1 <= len(trips) <= 2  # the first miss may go alone; the rest queue behind it
        for conversation, window in zip(conversations, windows, strict=True):
            assert [t.content for t in window] == await fresh_view(db_path, conversation)
        # ... and the windows are now cached: no trip for a second look.
        trips.clear()
        assert await store.recent_turns(conversations[1], 64) == windows[1]
        assert trips == []


async def test_personas_are_all_read_at_open(db_path: Path, raw: RawConnect) -> None:
    async with SQLiteStore(db_path) as first:
        await first.set_persona(CHANNEL, Persona("Be brief.", name="brief", temperature=0.2), "U1", "ada")
    other = ChannelRef("slack", "T1", "C2")

    async with SQLiteStore(db_path) as store:
        # Were the file read now, these rows would be seen: the answers are what open read.
        raw().execute("UPDATE personas SET system_prompt = 'changed behind its back'")
        raw().execute("INSERT INTO personas SELECT platform, workspace, 'C2', system_prompt, name, "
                      "description, model, temperature, max_tokens, updated_at FROM personas")
        assert await store.get_persona(CHANNEL) == Persona("Be brief.", name="brief", temperature=0.2)
        assert await store.get_persona(other) is None


async def test_past_the_cache_size_personas_are_read_when_needed(
    db_path: Path, raw: RawConnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "_CACHE_SIZE", 2)
    async with SQLiteStore(db_path) as first:
        for name in ("C1", "C2", "C3"):
            await first.set_persona(ChannelRef("slack", "T1", name), Persona(f"In {name}."), "U1", "ada")
    raw().execute("INSERT INTO personas SELECT platform, workspace, 'C4', system_prompt, name, "
                  "description, model, temperature, max_tokens, updated_at FROM personas WHERE channel = 'C1'")

    async with SQLiteStore(db_path) as store:
        # Three did not fit: none was held, so each is read (C4 was written by another hand).
        assert await store.get_persona(ChannelRef("slack", "T1", "C4")) == Persona("In C1.")
        assert await store.get_persona(ChannelRef("slack", "T1", "C5")) is None


async def test_a_persona_evicted_from_a_complete_cache_is_read_again(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "_CACHE_SIZE", 2)
    async with SQLiteStore(db_path) as store:
        for name in ("C1", "C2", "C3"):  # the third drops the first from the cache
            await store.set_persona(ChannelRef("slack", "T1", name), Persona(f"In {name}."), "U1", "ada")
        assert await store.get_persona(ChannelRef("slack", "T1", "C1")) == Persona("In C1.")


async def test_history_past_the_cached_window_is_read_from_the_file(store: SQLiteStore) -> None:
    await store.seed_turns(CONVERSATION, [NewTurn("user", f"s{i}", 1) for i in range(600)])
    await store.add_turn(CONVERSATION, NewTurn("user", "newest", 1))

    newest = await store.recent_turns(CONVERSATION, 64)
    older = await store.recent_turns(CONVERSATION, 400, before_id=newest[0].id)

    assert newest[-1].content == "newest"
    assert [t.content for t in older] == [f"s{i}" for i in range(137, 537)]


async def test_seeding_a_cached_conversation_is_seen(store: SQLiteStore) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "first", 1))
    assert len(await store.recent_turns(CONVERSATION, 10)) == 1

    await store.seed_turns(CONVERSATION, [NewTurn("user", "seeded", 1)])

    assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == ["first", "seeded"]


async def test_closing_waits_for_turns_already_submitted(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    await store.open()
    await store.add_turn(CONVERSATION, NewTurn("user", "first", 1))  # learns the id
    pending = [asyncio.ensure_future(store.add_turn(CONVERSATION, NewTurn("user", str(n), 1)))
               for n in range(20)]
    await asyncio.sleep(0)  # every add_turn has reached the writer

    await store.aclose()

    assert all(task.done() and not task.exception() for task in pending)
    assert await fresh_view(db_path, CONVERSATION) == ["first"] + [str(n) for n in range(20)]


async def test_cached_reads_on_a_closed_store_still_refuse(store: SQLiteStore) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "x", 1))
    await store.recent_turns(CONVERSATION, 10)
    await store.get_persona(CHANNEL)
    await store.aclose()

    for read in (store.recent_turns(CONVERSATION, 10), store.get_persona(CHANNEL),
                 store.usage(CHANNEL, DAY), store.add_turn(CONVERSATION, NewTurn("user", "y", 1))):
        with pytest.raises(StoreError, match="closed"):
            await read


async def test_a_burst_of_new_conversations_and_claims_shares_statements(
    store: SQLiteStore, trips: list[object], db_path: Path
) -> None:
    conversations = [ConversationRef("slack", "T1", f"C{n}", f"{n}.0") for n in range(100)]

    claimed = await asyncio.gather(*(store.claim_event("slack", f"C{n}:{n}.0") for n in range(100)))
    stored = await asyncio.gather(*(
        store.add_turn(conversation, NewTurn("user", f"first in {n}", 1))
        for n, conversation in enumerate(conversations)
    ))

    assert claimed == [True] * 100
    assert len(trips) < 20, "100 claims and 100 new conversations should share statements"
    assert len({t.id for t in stored}) == 100
    for n in (0, 57, 99):
        assert await fresh_view(db_path, conversations[n]) == [f"first in {n}"]


async def test_the_same_event_twice_in_one_batch_is_claimed_once(store: SQLiteStore) -> None:
    results = await asyncio.gather(*(store.claim_event("slack", event) for event in ("A", "B", "A", "A", "B")))

    assert results == [True, True, False, False, False]
    assert await store.claim_event("slack", "A") is False
