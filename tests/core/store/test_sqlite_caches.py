"""The configuration ``chatwright run`` uses, ``CachedStore`` around ``SQLiteStore``: its
caches and grouped writes must never disagree with the file.

Each test checks the store's answer against the database itself (a plain ``sqlite3``
connection) or against a plain ``SQLiteStore`` on the same file, which reads it afresh.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from core.errors import StoreError
from core.store import CachedStore, SQLiteStore, Store
from core.store import cached as cached_module
from core.types import ChannelRef, ConversationRef, NewTurn, Persona, ToolCall, Usage, UsageTotals
from tests.core.store.conftest import RawConnect, count_trips

CONVERSATION = ConversationRef("slack", "T1", "C1", "1700000000.000100")
CHANNEL = CONVERSATION.channel_ref
DAY = date(2024, 5, 1)


async def fresh_view(db_path: Path, conversation: ConversationRef) -> list[str]:
    async with SQLiteStore(db_path) as other:
        return [t.content for t in await other.recent_turns(conversation, 10_000)]


def cached_store(db_path: Path) -> CachedStore:
    return CachedStore(SQLiteStore(db_path))


@pytest.fixture
async def store(cached: CachedStore) -> CachedStore:
    """Here ``store`` (and so ``trips``) is the cached configuration."""
    return cached


async def test_turns_of_many_conversations_at_once_share_inserts_and_land_right(
    store: CachedStore, trips: list[object], db_path: Path
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


async def test_one_bad_row_in_a_batch_fails_alone(store: CachedStore, db_path: Path) -> None:
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
    store: CachedStore, raw: RawConnect
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
    store: CachedStore, db_path: Path
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


async def test_cached_personas_follow_set_and_reset(store: CachedStore) -> None:
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

    async with cached_store(db_path) as store:
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

    async with cached_store(db_path) as store:
        # Were the file read now, these rows would be seen: the answers are what open read.
        raw().execute("UPDATE personas SET system_prompt = 'changed behind its back'")
        raw().execute("INSERT INTO personas (platform, workspace, channel, system_prompt, name,"
                      " description, updated_at) SELECT platform, workspace, 'C2', system_prompt,"
                      " name, description, updated_at FROM personas")
        assert await store.get_persona(CHANNEL) == Persona("Be brief.", name="brief", temperature=0.2)
        assert await store.get_persona(other) is None


async def test_personas_read_at_open_keep_their_prompts_and_loading_messages(
    db_path: Path, raw: RawConnect
) -> None:
    guided = Persona("Help.", suggested_prompts=("Summarise this", "What next?"),
                     loading_messages=("Thinking…",))
    async with SQLiteStore(db_path) as first:
        await first.set_persona(CHANNEL, guided, "U1", "ada")

    async with cached_store(db_path) as store:
        # Were the file read now, this would be seen: the answer is what open read.
        raw().execute("UPDATE personas SET suggested_prompts = NULL, loading_messages = NULL")
        assert await store.get_persona(CHANNEL) == guided


async def test_past_the_cache_size_personas_are_read_when_needed(
    db_path: Path, raw: RawConnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cached_module, "_CACHE_SIZE", 2)
    async with SQLiteStore(db_path) as first:
        for name in ("C1", "C2", "C3"):
            await first.set_persona(ChannelRef("slack", "T1", name), Persona(f"In {name}."), "U1", "ada")
    raw().execute("INSERT INTO personas (platform, workspace, channel, system_prompt, name,"
                  " description, updated_at) SELECT platform, workspace, 'C4', system_prompt,"
                  " name, description, updated_at FROM personas WHERE channel = 'C1'")

    async with cached_store(db_path) as store:
        # Three did not fit: none was held, so each is read (C4 was written by another hand).
        assert await store.get_persona(ChannelRef("slack", "T1", "C4")) == Persona("In C1.")
        assert await store.get_persona(ChannelRef("slack", "T1", "C5")) is None


async def test_a_persona_evicted_from_a_complete_cache_is_read_again(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cached_module, "_CACHE_SIZE", 2)
    async with cached_store(db_path) as store:
        for name in ("C1", "C2", "C3"):  # the third drops the first from the cache
            await store.set_persona(ChannelRef("slack", "T1", name), Persona(f"In {name}."), "U1", "ada")
        assert await store.get_persona(ChannelRef("slack", "T1", "C1")) == Persona("In C1.")


async def test_cached_channel_tools_follow_set_and_reset(store: CachedStore) -> None:
    assert await store.get_channel_tools(CHANNEL) is None  # cached as "not chosen"

    await store.set_channel_tools(CHANNEL, frozenset({"time"}), "U1", "ada")
    assert await store.get_channel_tools(CHANNEL) == frozenset({"time"})

    await store.set_channel_tools(CHANNEL, frozenset(), "U1", "ada")
    assert await store.get_channel_tools(CHANNEL) == frozenset()

    await store.set_channel_tools(CHANNEL, None, "U1", "ada")
    assert await store.get_channel_tools(CHANNEL) is None


async def test_channel_tools_are_all_read_at_open(db_path: Path, raw: RawConnect) -> None:
    async with SQLiteStore(db_path) as first:
        await first.set_channel_tools(CHANNEL, frozenset({"time"}), "U1", "ada")
    other = ChannelRef("slack", "T1", "C2")

    async with cached_store(db_path) as store:
        # Were the file read now, these rows would be seen: the answers are what open read.
        raw().execute("UPDATE channel_tools SET tools = '[\"changed\"]'")
        raw().execute("INSERT INTO channel_tools SELECT platform, workspace, 'C2', tools,"
                      " updated_at FROM channel_tools")
        assert await store.get_channel_tools(CHANNEL) == frozenset({"time"})
        assert await store.get_channel_tools(other) is None


async def test_past_the_cache_size_channel_tools_are_read_when_needed(
    db_path: Path, raw: RawConnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cached_module, "_CACHE_SIZE", 2)
    async with SQLiteStore(db_path) as first:
        for name in ("C1", "C2", "C3"):
            await first.set_channel_tools(ChannelRef("slack", "T1", name), frozenset({name}),
                                          "U1", "ada")
    raw().execute("INSERT INTO channel_tools SELECT platform, workspace, 'C4', tools,"
                  " updated_at FROM channel_tools WHERE channel = 'C1'")

    async with cached_store(db_path) as store:
        # Three did not fit: none was held, so each is read (C4 was written by another hand).
        assert await store.get_channel_tools(ChannelRef("slack", "T1", "C4")) == frozenset({"C1"})
        assert await store.get_channel_tools(ChannelRef("slack", "T1", "C5")) is None


async def test_cached_windows_hold_tool_steps_as_the_file_does(
    store: CachedStore, trips: list[object], db_path: Path
) -> None:
    call = ToolCall("call_1", "time", "{}")
    await store.add_turn(CONVERSATION, NewTurn("user", "What time is it?", 1, event_id="Ev1"))
    await store.recent_turns(CONVERSATION, 10)  # held
    await store.add_turn(CONVERSATION, NewTurn("assistant", "", 1, event_id="Ev1",
                                               tool_calls=(call,)))
    await store.add_turn(CONVERSATION, NewTurn("tool", "12:00", 1, event_id="Ev1",
                                               tool_call_id="call_1"))
    trips.clear()

    held = await store.recent_turns(CONVERSATION, 10)

    assert trips == []
    async with SQLiteStore(db_path) as plain:
        assert held == await plain.recent_turns(CONVERSATION, 10)
    assert [(t.tool_calls, t.tool_call_id) for t in held] == [
        ((), ""), ((call,), ""), ((), "call_1")]


async def test_history_past_the_cached_window_is_read_from_the_file(store: CachedStore) -> None:
    await store.seed_turns(CONVERSATION, [NewTurn("user", f"s{i}", 1) for i in range(600)])
    await store.add_turn(CONVERSATION, NewTurn("user", "newest", 1))

    newest = await store.recent_turns(CONVERSATION, 64)
    older = await store.recent_turns(CONVERSATION, 400, before_id=newest[0].id)

    assert newest[-1].content == "newest"
    assert [t.content for t in older] == [f"s{i}" for i in range(137, 537)]


async def test_seeding_a_cached_conversation_is_seen(store: CachedStore) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "first", 1))
    assert len(await store.recent_turns(CONVERSATION, 10)) == 1

    await store.seed_turns(CONVERSATION, [NewTurn("user", "seeded", 1)])

    assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == ["first", "seeded"]


async def test_closing_waits_for_turns_already_submitted(db_path: Path) -> None:
    store = cached_store(db_path)
    await store.open()
    await store.add_turn(CONVERSATION, NewTurn("user", "first", 1))  # learns the id
    pending = [asyncio.ensure_future(store.add_turn(CONVERSATION, NewTurn("user", str(n), 1)))
               for n in range(20)]
    await asyncio.sleep(0)  # every add_turn has reached the writer

    await store.aclose()

    assert all(task.done() and not task.exception() for task in pending)
    assert await fresh_view(db_path, CONVERSATION) == ["first"] + [str(n) for n in range(20)]


async def test_cached_reads_on_a_closed_store_still_refuse(store: CachedStore) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "x", 1))
    await store.recent_turns(CONVERSATION, 10)
    await store.get_persona(CHANNEL)
    await store.aclose()

    for read in (store.recent_turns(CONVERSATION, 10), store.get_persona(CHANNEL),
                 store.usage(CHANNEL, DAY), store.add_turn(CONVERSATION, NewTurn("user", "y", 1))):
        with pytest.raises(StoreError, match="closed"):
            await read


async def test_a_burst_of_new_conversations_and_claims_shares_statements(
    store: CachedStore, trips: list[object], db_path: Path
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


async def test_the_same_event_twice_in_one_batch_is_claimed_once(store: CachedStore) -> None:
    results = await asyncio.gather(*(store.claim_event("slack", event) for event in ("A", "B", "A", "A", "B")))

    assert results == [True, True, False, False, False]
    assert await store.claim_event("slack", "A") is False


# -- what a message costs, and what the caches hold after each write ---------------------


async def test_a_message_costs_two_trips_once_its_reads_are_cached(
    store: CachedStore, trips: list[object]
) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "learns the conversation id", 1))
    reads = {
        "recent_turns": lambda: store.recent_turns(CONVERSATION, 64),
        "get_persona": lambda: store.get_persona(CHANNEL),
        "get_channel_tools": lambda: store.get_channel_tools(CHANNEL),
        "usage": lambda: store.usage(CHANNEL, DAY),
    }
    writes = {
        "add_turn": lambda: store.add_turn(CONVERSATION, NewTurn("user", "x", 1)),
        "add_reply": lambda: store.add_reply(
            CONVERSATION, NewTurn("assistant", "y", 1), Usage(1, 1), DAY),
        "claim_event": lambda: store.claim_event("slack", "Ev1"),
        "forget": lambda: store.forget(CONVERSATION),
    }

    async def count(calls: dict[str, Any]) -> dict[str, int]:
        counts = {}
        for name, call in calls.items():
            trips.clear()
            await call()
            counts[name] = len(trips)
        return counts

    # Personas and channels' tools were all read at open: a channel without them costs
    # no trip either.
    cached = {"recent_turns": 0, "get_persona": 0, "get_channel_tools": 0, "usage": 0}
    assert await count(reads) == {**cached, "recent_turns": 1, "usage": 1}
    assert await count(reads) == cached
    assert await count(writes) == {"add_turn": 1, "add_reply": 1, "claim_event": 1, "forget": 1}
    assert await count(reads) == cached


async def test_after_each_write_the_caches_answer_what_the_file_holds(
    store: CachedStore, trips: list[object], db_path: Path, raw: RawConnect
) -> None:
    other_thread = ConversationRef("slack", "T1", "C1", "other")
    default = CHANNEL.workspace_default
    writes = [
        lambda: store.add_turn(CONVERSATION, NewTurn("user", "one", 1)),
        lambda: store.add_reply(CONVERSATION, NewTurn("assistant", "two", 1), Usage(4, 2), DAY),
        lambda: store.add_reply(other_thread, NewTurn("assistant", "elsewhere", 1), Usage(1, 1), DAY),
        lambda: store.add_reply(CONVERSATION, NewTurn("assistant", "tomorrow", 1), Usage(2, 2),
                                date(2024, 5, 2)),
        lambda: store.set_persona(CHANNEL, Persona("Be brief."), "U1", "ada"),
        lambda: store.set_persona(default, Persona("Be kind."), "U1", "ada"),
        lambda: store.set_channel_tools(CHANNEL, frozenset({"time"}), "U1", "ada"),
        lambda: store.set_channel_tools(default, frozenset(), "U1", "ada"),
        lambda: store.seed_turns(CONVERSATION, [NewTurn("user", f"s{i}", 1) for i in range(300)]),
        lambda: store.add_turn(CONVERSATION, NewTurn("user", "three", 1)),
        lambda: store.forget(CONVERSATION),
        lambda: store.set_persona(CHANNEL, None, "U1", "ada"),
        lambda: store.set_channel_tools(CHANNEL, None, "U1", "ada"),
        lambda: store.add_turn(CONVERSATION, NewTurn("user", "after forgetting", 1)),
    ]

    async def answers(of: CachedStore | SQLiteStore) -> tuple[object, ...]:
        return (
            [t.content for t in await of.recent_turns(CONVERSATION, 64)],
            [t.content for t in await of.recent_turns(other_thread, 64)],
            await of.get_persona(CHANNEL), await of.get_persona(default),
            await of.get_channel_tools(CHANNEL), await of.get_channel_tools(default),
            await of.usage(CHANNEL, DAY), await of.usage(CHANNEL, date(2024, 5, 2)),
        )

    await answers(store)  # everything cached from here on
    async with SQLiteStore(db_path) as plain:
        for write in writes:
            await write()
            assert await answers(store) == await answers(plain)
    # ... and the answers still come from the caches (usage is cached for one day per
    # channel, so the two days asked for in turn are read each time).
    trips.clear()
    for conversation in (CONVERSATION, other_thread):
        await store.recent_turns(conversation, 64)
    for channel in (CHANNEL, default):
        await store.get_persona(channel)
        await store.get_channel_tools(channel)
    await store.usage(CHANNEL, DAY)
    assert len(trips) == 1
    await store.usage(CHANNEL, DAY)
    assert len(trips) == 1


async def test_a_failed_write_drops_what_it_may_have_changed(
    store: CachedStore, raw: RawConnect, db_path: Path
) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "question", 1))
    await store.set_persona(CHANNEL, Persona("Be brief."), "U1", "ada")
    raw().execute("CREATE TRIGGER fail_audit BEFORE INSERT ON persona_audit "
                  "BEGIN SELECT RAISE(ABORT, 'audit refused'); END")

    with pytest.raises(StoreError, match="audit refused"):
        await store.set_persona(CHANNEL, Persona("Lost."), "U1", "ada")

    assert await store.get_persona(CHANNEL) == Persona("Be brief.")
    assert await store.get_persona(ChannelRef("slack", "T1", "C9")) is None


async def test_a_failed_tools_change_drops_what_it_may_have_changed(
    store: CachedStore, raw: RawConnect
) -> None:
    await store.set_channel_tools(CHANNEL, frozenset({"time"}), "U1", "ada")
    raw().execute("CREATE TRIGGER fail_audit BEFORE INSERT ON tools_audit "
                  "BEGIN SELECT RAISE(ABORT, 'audit refused'); END")

    with pytest.raises(StoreError, match="audit refused"):
        await store.set_channel_tools(CHANNEL, None, "U1", "ada")

    assert await store.get_channel_tools(CHANNEL) == frozenset({"time"})


# -- races between a task's read and another's write ---------------------------------------


class HeldAnswers(SQLiteStore):
    """A ``SQLiteStore`` whose methods named in ``held`` wait, once they have done their
    work on the file, until ``release`` is set: another task's write (or its cache
    update) can then come between a read or a write and its answer."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.held: set[str] = set()
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def _answer(self, name: str, value: Any) -> Any:
        if name in self.held:
            self.held.discard(name)
            self.reached.set()
            await self.release.wait()
        return value

    async def recent_turns(self, conversation: ConversationRef, limit: int,
                           before_id: int | None = None) -> Any:
        return await self._answer("recent_turns", await super().recent_turns(conversation, limit, before_id))

    async def get_persona(self, channel: ChannelRef) -> Any:
        return await self._answer("get_persona", await super().get_persona(channel))

    async def usage(self, channel: ChannelRef, day: date) -> Any:
        return await self._answer("usage", await super().usage(channel, day))

    async def forget(self, conversation: ConversationRef) -> Any:
        return await self._answer("forget", await super().forget(conversation))

    async def set_persona(self, channel: ChannelRef, persona: Persona | None, actor_id: str,
                          actor_name: str) -> Any:
        return await self._answer("set_persona", await super().set_persona(channel, persona, actor_id, actor_name))

    async def get_channel_tools(self, channel: ChannelRef) -> Any:
        return await self._answer("get_channel_tools", await super().get_channel_tools(channel))

    async def set_channel_tools(self, channel: ChannelRef, tools: frozenset[str] | None,
                                actor_id: str, actor_name: str) -> Any:
        return await self._answer("set_channel_tools", await super().set_channel_tools(
            channel, tools, actor_id, actor_name))


@pytest.mark.parametrize("kind", ["turns", "persona", "tools", "usage"])
async def test_a_value_read_while_a_write_lands_is_not_held(
    db_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SQLiteStore(db_path) as plain:  # more channels than the cache holds: read each
        for name in ("C7", "C8"):
            await plain.set_persona(ChannelRef("slack", "T1", name), Persona("x"), "U1", "ada")
            await plain.set_channel_tools(ChannelRef("slack", "T1", name), frozenset(), "U1", "ada")
    monkeypatch.setattr(cached_module, "_CACHE_SIZE", 1)
    reads = {
        "turns": ("recent_turns", lambda store: store.recent_turns(CONVERSATION, 10)),
        "persona": ("get_persona", lambda store: store.get_persona(CHANNEL)),
        "tools": ("get_channel_tools", lambda store: store.get_channel_tools(CHANNEL)),
        "usage": ("usage", lambda store: store.usage(CHANNEL, DAY)),
    }
    name, read = reads[kind]
    inner = HeldAnswers(db_path)
    async with CachedStore(inner) as store:
        await store.add_turn(CONVERSATION, NewTurn("user", "before", 1))
        inner.held.add(name)
        reading = asyncio.ensure_future(read(store))
        await inner.reached.wait()  # the file is read; the answer is not back yet

        await store.add_reply(CONVERSATION, NewTurn("assistant", "during", 1), Usage(5, 1), DAY)
        await store.set_persona(CHANNEL, Persona("Set during the read."), "U1", "ada")
        await store.set_channel_tools(CHANNEL, frozenset({"time"}), "U1", "ada")
        inner.release.set()
        await reading

        async with SQLiteStore(db_path) as plain:
            assert await read(store) == await read(plain)


async def test_a_forget_that_answers_after_a_later_turn_drops_the_window(db_path: Path) -> None:
    inner = HeldAnswers(db_path)
    async with CachedStore(inner) as store:
        await store.add_turn(CONVERSATION, NewTurn("user", "old", 1))
        await store.recent_turns(CONVERSATION, 10)  # held
        inner.held.add("forget")
        forgetting = asyncio.ensure_future(store.forget(CONVERSATION))
        await inner.reached.wait()  # deleted, not answered yet
        assert await store.recent_turns(CONVERSATION, 10) == []  # the file's answer, not the cache's

        await store.add_turn(CONVERSATION, NewTurn("user", "new", 1))  # lands after the DELETE
        inner.release.set()
        assert await forgetting == 1

        assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == (
            await fresh_view(db_path, CONVERSATION)) == ["new"]


async def test_a_persona_set_that_answers_after_a_later_one_is_read_again(db_path: Path) -> None:
    inner = HeldAnswers(db_path)
    async with CachedStore(inner) as store:
        inner.held.add("set_persona")
        first = asyncio.ensure_future(store.set_persona(CHANNEL, Persona("First."), "U1", "ada"))
        await inner.reached.wait()  # committed, not answered yet
        assert await store.get_persona(CHANNEL) == Persona("First.")  # the file's answer

        await store.set_persona(CHANNEL, Persona("Second."), "U1", "ada")  # commits last
        inner.release.set()
        await first

        assert await store.get_persona(CHANNEL) == Persona("Second.")


async def test_a_tools_change_that_answers_after_a_later_one_is_read_again(db_path: Path) -> None:
    inner = HeldAnswers(db_path)
    async with CachedStore(inner) as store:
        inner.held.add("set_channel_tools")
        first = asyncio.ensure_future(
            store.set_channel_tools(CHANNEL, frozenset({"first"}), "U1", "ada"))
        await inner.reached.wait()  # committed, not answered yet
        assert await store.get_channel_tools(CHANNEL) == frozenset({"first"})  # the file's answer

        await store.set_channel_tools(CHANNEL, frozenset({"second"}), "U1", "ada")  # commits last
        inner.release.set()
        await first

        assert await store.get_channel_tools(CHANNEL) == frozenset({"second"})


class LateWrites(SQLiteStore):
    """A ``SQLiteStore`` whose turns are written only once ``go`` is set, and written even
    if their caller is cancelled meanwhile, as a turn waiting for the shared INSERT is."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.go = asyncio.Event()
        self.go.set()
        self._late: set[asyncio.Future[Any]] = set()

    async def add_turn(self, conversation: ConversationRef, turn: NewTurn) -> Any:
        write = asyncio.ensure_future(self._add_when_told(conversation, turn))
        self._late.add(write)
        return await asyncio.shield(write)

    async def _add_when_told(self, conversation: ConversationRef, turn: NewTurn) -> Any:
        await self.go.wait()
        return await super().add_turn(conversation, turn)

    async def drain(self) -> None:
        await asyncio.gather(*self._late, return_exceptions=True)
        await super().drain()


async def test_a_turn_whose_writer_was_cancelled_still_reaches_the_cache(db_path: Path) -> None:
    inner = LateWrites(db_path)
    async with CachedStore(inner) as store:
        await store.add_turn(CONVERSATION, NewTurn("user", "first", 1))
        await store.recent_turns(CONVERSATION, 10)  # held
        inner.go.clear()
        late = asyncio.ensure_future(store.add_turn(CONVERSATION, NewTurn("user", "late", 1)))
        await asyncio.sleep(0)  # handed to the store, not written yet
        late.cancel()
        with pytest.raises(asyncio.CancelledError):
            await late

        # Read before the turn lands: right now, but it must not be held ...
        assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == ["first"]
        inner.go.set()  # ... for the turn lands now
        await asyncio.wait(store._settling)

        assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == (
            await fresh_view(db_path, CONVERSATION)) == ["first", "late"]


async def test_turns_cancelled_in_a_burst_end_in_the_cache_as_in_the_file(
    store: CachedStore, db_path: Path
) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "first", 1))
    await store.recent_turns(CONVERSATION, 10)  # held
    writes = [asyncio.ensure_future(store.add_turn(CONVERSATION, NewTurn("user", str(n), 1)))
              for n in range(10)]
    await asyncio.sleep(0)
    for write in writes[1::2]:
        write.cancel()
    reads = [await store.recent_turns(CONVERSATION, 20) for _ in range(3)]
    await asyncio.gather(*writes, return_exceptions=True)
    if store._settling:
        await asyncio.wait(store._settling)

    assert all(read[0].content == "first" for read in reads)
    assert [t.content for t in await store.recent_turns(CONVERSATION, 20)] == (
        await fresh_view(db_path, CONVERSATION)) == ["first"] + [str(n) for n in range(10)]


async def test_a_forget_beside_a_write_of_the_same_conversation_ends_right(
    store: CachedStore, db_path: Path
) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "old", 1))
    await store.recent_turns(CONVERSATION, 10)  # held

    for order in range(2):
        calls = [store.forget(CONVERSATION), store.add_turn(CONVERSATION, NewTurn("user", f"new{order}", 1))]
        await asyncio.gather(*(calls if order else calls[::-1]))

        assert [t.content for t in await store.recent_turns(CONVERSATION, 10)] == (
            await fresh_view(db_path, CONVERSATION))


async def test_two_personas_set_at_once_end_as_the_file_says(store: CachedStore, db_path: Path) -> None:
    await asyncio.gather(*(store.set_persona(CHANNEL, Persona(f"P{n}"), "U1", "ada") for n in range(5)))

    async with SQLiteStore(db_path) as plain:
        assert await store.get_persona(CHANNEL) == await plain.get_persona(CHANNEL) is not None


async def test_concurrent_turns_of_one_conversation_stay_cached_and_in_order(
    store: CachedStore, trips: list[object], db_path: Path
) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "first", 1))
    await store.recent_turns(CONVERSATION, 10)  # held

    await asyncio.gather(*(store.add_turn(CONVERSATION, NewTurn("user", str(n), 1)) for n in range(20)))
    trips.clear()

    assert [t.content for t in await store.recent_turns(CONVERSATION, 100)] == (
        await fresh_view(db_path, CONVERSATION))
    assert trips == []


def test_every_store_method_is_passed_on_or_cached_here() -> None:
    # A Store method added later must be written here too: one that changes what is
    # cached would otherwise go round the caches.
    contract = {name for name in vars(Store) if not name.startswith("_")}

    assert contract <= set(vars(CachedStore))
