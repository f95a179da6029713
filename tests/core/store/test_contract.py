"""The ``Store`` contract, run against every implementation.

Each test speaks only of the ``Store`` protocol, never of SQL, so a new implementation
joins by adding one entry to ``STORE_FACTORIES``. The SQLite store runs on a real file in
``tmp_path``, the PostgreSQL store on a real server, in a fresh database per test
(``postgres_url``, tests/conftest.py); nothing here mocks a database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import StoreError
from core.store import CachedStore, InMemoryStore, PostgresStore, SQLiteStore, Store
from core.types import (
    ChannelRef,
    ConversationRef,
    NewTurn,
    Persona,
    Usage,
    UsageTotals,
)


class FakeClock:
    """A clock the test moves by hand, so times and pruning are exact."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Place:
    """Where one test's stores keep their data. Every store a test makes of one kind
    shares it, as the processes (or replicas) of a bot share their database."""

    tmp_path: Path
    # Only for the "postgres" kind: the test's own database.
    postgres_url: str = ""


StoreFactory = Callable[[Place, FakeClock], Store]

STORE_FACTORIES: dict[str, StoreFactory] = {
    "sqlite": lambda place, clock: SQLiteStore(place.tmp_path / "chatwright.db", clock=clock),
    # What `chatwright run` uses on SQLite: the caches in front of the plain store.
    "sqlite-cached": lambda place, clock: CachedStore(SQLiteStore(place.tmp_path / "chatwright.db", clock=clock)),
    "memory": lambda place, clock: InMemoryStore(clock=clock),
    "postgres": lambda place, clock: PostgresStore(place.postgres_url, clock=clock),
}

CONVERSATION = ConversationRef("slack", "T1", "C1", "1700000000.000100")
CHANNEL = CONVERSATION.channel_ref
DAY = date(2024, 5, 1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def place_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    """The test's ``Place`` for stores of ``kind``: PostgreSQL (its server, a database)
    is set up only for the tests that run on it."""
    if kind == "postgres":
        return Place(tmp_path, request.getfixturevalue("postgres_url"))
    return Place(tmp_path)


@pytest.fixture(params=sorted(STORE_FACTORIES))
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Callable[[], Store]:
    place = place_for(request.param, request, tmp_path)
    return lambda: STORE_FACTORIES[request.param](place, clock)


@pytest.fixture
async def store(make_store: Callable[[], Store]) -> AsyncIterator[Store]:
    opened = make_store()
    await opened.open()
    yield opened
    await opened.aclose()


def user(text: str, tokens: int = 1) -> NewTurn:
    return NewTurn("user", text, tokens, author_id="U1", author_name="ada")


async def add_texts(store: Store, conversation: ConversationRef, texts: list[str]) -> None:
    for text in texts:
        await store.add_turn(conversation, user(text))


def texts(turns: list) -> list[str]:
    return [turn.content for turn in turns]


# -- turns -----------------------------------------------------------------------------


async def test_add_turn_returns_what_recent_turns_reads_back(
    store: Store, clock: FakeClock
) -> None:
    stored = await store.add_turn(CONVERSATION, NewTurn("user", "hi", 3, "U1", "ada"))

    assert (stored.role, stored.content, stored.tokens) == ("user", "hi", 3)
    assert (stored.author_id, stored.author_name) == ("U1", "ada")
    assert stored.created_at == clock.now
    assert await store.recent_turns(CONVERSATION, 10) == [stored]


async def test_turns_come_back_oldest_first_with_increasing_ids(store: Store) -> None:
    await add_texts(store, CONVERSATION, ["a", "b", "c"])
    await store.add_turn(CONVERSATION, NewTurn("assistant", "d", 2))

    turns = await store.recent_turns(CONVERSATION, 10)

    assert texts(turns) == ["a", "b", "c", "d"]
    assert [t.role for t in turns] == ["user", "user", "user", "assistant"]
    assert [t.id for t in turns] == sorted({t.id for t in turns})


async def test_recent_turns_returns_the_newest_limit(store: Store) -> None:
    await add_texts(store, CONVERSATION, [str(i) for i in range(10)])

    assert texts(await store.recent_turns(CONVERSATION, 3)) == ["7", "8", "9"]
    assert texts(await store.recent_turns(CONVERSATION, 1)) == ["9"]
    assert len(await store.recent_turns(CONVERSATION, 100)) == 10


@pytest.mark.parametrize("limit", [0, -1])
async def test_recent_turns_with_no_room_is_empty(store: Store, limit: int) -> None:
    await add_texts(store, CONVERSATION, ["a", "b"])

    assert await store.recent_turns(CONVERSATION, limit) == []


async def test_before_id_pages_backwards_oldest_first_within_a_page(store: Store) -> None:
    await add_texts(store, CONVERSATION, [str(i) for i in range(10)])

    pages, before_id = [], None
    while page := await store.recent_turns(CONVERSATION, 4, before_id=before_id):
        pages.append(texts(page))
        before_id = page[0].id

    assert pages == [["6", "7", "8", "9"], ["2", "3", "4", "5"], ["0", "1"]]


async def test_unknown_conversation_has_no_turns(store: Store) -> None:
    assert await store.recent_turns(CONVERSATION, 10) == []
    assert await store.forget(CONVERSATION) == 0


@pytest.mark.parametrize(
    "other",
    [
        ConversationRef("discord", "T1", "C1", "1700000000.000100"),
        ConversationRef("slack", "T2", "C1", "1700000000.000100"),
        ConversationRef("slack", "T1", "C2", "1700000000.000100"),
        ConversationRef("slack", "T1", "C1", "1700000000.000200"),
        ConversationRef("slack", "T1", "C1", ""),
    ],
    ids=["platform", "workspace", "channel", "thread", "top-level"],
)
async def test_conversations_are_isolated(store: Store, other: ConversationRef) -> None:
    await add_texts(store, CONVERSATION, ["mine"])
    await add_texts(store, other, ["theirs"])

    assert texts(await store.recent_turns(CONVERSATION, 10)) == ["mine"]
    assert texts(await store.recent_turns(other, 10)) == ["theirs"]


async def test_forget_clears_only_its_conversation(store: Store) -> None:
    sibling = ConversationRef("slack", "T1", "C1", "another-thread")
    await add_texts(store, CONVERSATION, ["a", "b", "c"])
    await add_texts(store, sibling, ["x"])

    assert await store.forget(CONVERSATION) == 3
    assert await store.recent_turns(CONVERSATION, 10) == []
    assert texts(await store.recent_turns(sibling, 10)) == ["x"]
    assert await store.forget(CONVERSATION) == 0


async def test_a_forgotten_conversation_continues_with_new_ids(store: Store) -> None:
    await add_texts(store, CONVERSATION, ["a", "b"])
    old = await store.recent_turns(CONVERSATION, 10)
    await store.forget(CONVERSATION)

    fresh = await store.add_turn(CONVERSATION, user("again"))

    assert fresh.id > max(t.id for t in old)
    assert await store.recent_turns(CONVERSATION, 10) == [fresh]


# -- usage -----------------------------------------------------------------------------


async def test_add_reply_stores_the_turn_and_counts_usage(store: Store) -> None:
    await store.add_turn(CONVERSATION, user("question"))

    reply = await store.add_reply(
        CONVERSATION, NewTurn("assistant", "answer", 5), Usage(100, 5), DAY
    )

    assert texts(await store.recent_turns(CONVERSATION, 10)) == ["question", "answer"]
    assert reply.role == "assistant"
    assert await store.usage(CHANNEL, DAY) == UsageTotals(Usage(100, 5), Usage(100, 5))


async def test_usage_separates_today_from_total(store: Store) -> None:
    yesterday = DAY - timedelta(days=1)
    answer = NewTurn("assistant", "answer", 1)
    await store.add_reply(CONVERSATION, answer, Usage(10, 1), yesterday)
    await store.add_reply(CONVERSATION, answer, Usage(20, 2), DAY)
    await store.add_reply(CONVERSATION, answer, Usage(30, 3), DAY)

    assert await store.usage(CHANNEL, DAY) == UsageTotals(Usage(50, 5), Usage(60, 6))
    assert await store.usage(CHANNEL, yesterday) == UsageTotals(Usage(10, 1), Usage(60, 6))
    assert await store.usage(CHANNEL, DAY + timedelta(days=1)) == UsageTotals(
        Usage(0, 0), Usage(60, 6)
    )


async def test_usage_is_per_channel_across_its_threads(store: Store) -> None:
    other_thread = ConversationRef("slack", "T1", "C1", "other-thread")
    other_channel = ConversationRef("slack", "T1", "C2", "")
    answer = NewTurn("assistant", "answer", 1)
    await store.add_reply(CONVERSATION, answer, Usage(1, 1), DAY)
    await store.add_reply(other_thread, answer, Usage(2, 2), DAY)
    await store.add_reply(other_channel, answer, Usage(4, 4), DAY)

    assert (await store.usage(CHANNEL, DAY)).today == Usage(3, 3)
    assert (await store.usage(other_channel.channel_ref, DAY)).today == Usage(4, 4)


async def test_unused_channel_has_zero_usage(store: Store) -> None:
    assert await store.usage(CHANNEL, DAY) == UsageTotals(Usage(0, 0), Usage(0, 0))


# -- personas --------------------------------------------------------------------------

PIRATE = Persona("Talk like a pirate.", name="pirate", description="Arr",
                 model="gpt-4o-mini", temperature=0.9, max_tokens=300)
TERSE = Persona("Be terse.")


async def test_persona_is_unset_at_first(store: Store) -> None:
    assert await store.get_persona(CHANNEL) is None
    assert await store.persona_history(CHANNEL, 10) == []


async def test_set_persona_round_trips_every_field(store: Store) -> None:
    await store.set_persona(CHANNEL, PIRATE, "U1", "ada")

    assert await store.get_persona(CHANNEL) == PIRATE


async def test_set_persona_replaces_and_clears(store: Store) -> None:
    await store.set_persona(CHANNEL, PIRATE, "U1", "ada")
    await store.set_persona(CHANNEL, TERSE, "U2", "bob")
    assert await store.get_persona(CHANNEL) == TERSE

    await store.set_persona(CHANNEL, None, "U1", "ada")
    assert await store.get_persona(CHANNEL) is None


async def test_set_persona_returns_its_audit_entry(store: Store, clock: FakeClock) -> None:
    await store.set_persona(CHANNEL, TERSE, "U1", "ada")

    change = await store.set_persona(CHANNEL, PIRATE, "U2", "bob")

    assert (change.channel, change.actor_id, change.actor_name) == (CHANNEL, "U2", "bob")
    assert (change.before, change.after) == (TERSE, PIRATE)
    assert change.changed_at == clock.now
    assert (await store.persona_history(CHANNEL, 1)) == [change]


async def test_persona_history_is_newest_first_with_before_and_after(
    store: Store, clock: FakeClock
) -> None:
    for persona, actor in [(PIRATE, "ada"), (TERSE, "bob"), (None, "cy")]:
        await store.set_persona(CHANNEL, persona, f"id-{actor}", actor)
        clock.advance(60)

    history = await store.persona_history(CHANNEL, 10)

    assert [c.actor_name for c in history] == ["cy", "bob", "ada"]
    assert [c.actor_id for c in history] == ["id-cy", "id-bob", "id-ada"]
    assert [(c.before, c.after) for c in history] == [
        (TERSE, None), (PIRATE, TERSE), (None, PIRATE)
    ]
    assert [c.changed_at for c in history] == sorted(
        (c.changed_at for c in history), reverse=True
    )
    assert [c.actor_name for c in await store.persona_history(CHANNEL, 2)] == ["cy", "bob"]
    assert await store.persona_history(CHANNEL, 0) == []


async def test_personas_are_per_channel(store: Store) -> None:
    other = ChannelRef("slack", "T1", "C2")
    await store.set_persona(CHANNEL, PIRATE, "U1", "ada")
    await store.set_persona(CHANNEL.workspace_default, TERSE, "U1", "ada")

    assert await store.get_persona(other) is None
    assert await store.get_persona(CHANNEL.workspace_default) == TERSE
    assert await store.persona_history(other, 10) == []
    assert len(await store.persona_history(CHANNEL, 10)) == 1


# -- events ----------------------------------------------------------------------------


async def test_claim_event_is_true_once_then_false(store: Store) -> None:
    assert await store.claim_event("slack", "Ev1") is True
    assert await store.claim_event("slack", "Ev1") is False
    assert await store.claim_event("slack", "Ev1") is False


async def test_event_ids_are_per_platform(store: Store) -> None:
    assert await store.claim_event("slack", "1") is True
    assert await store.claim_event("discord", "1") is True
    assert await store.claim_event("slack", "2") is True


async def test_prune_events_forgets_only_old_ids(store: Store, clock: FakeClock) -> None:
    await store.claim_event("slack", "old")
    clock.advance(100)
    await store.claim_event("slack", "new")

    assert await store.prune_events(50) == 1
    assert await store.prune_events(50) == 0
    assert await store.claim_event("slack", "old") is True
    assert await store.claim_event("slack", "new") is False


# -- lifecycle -------------------------------------------------------------------------

EVERY_CALL = {
    "add_turn": lambda s: s.add_turn(CONVERSATION, user("x")),
    "add_reply": lambda s: s.add_reply(CONVERSATION, user("x"), Usage(1, 1), DAY),
    "recent_turns": lambda s: s.recent_turns(CONVERSATION, 5),
    "forget": lambda s: s.forget(CONVERSATION),
    "get_persona": lambda s: s.get_persona(CHANNEL),
    "set_persona": lambda s: s.set_persona(CHANNEL, TERSE, "U1", "ada"),
    "persona_history": lambda s: s.persona_history(CHANNEL, 5),
    "claim_event": lambda s: s.claim_event("slack", "Ev1"),
    "prune_events": lambda s: s.prune_events(60),
    "usage": lambda s: s.usage(CHANNEL, DAY),
}


@pytest.mark.parametrize("call", EVERY_CALL.values(), ids=EVERY_CALL.keys())
async def test_a_closed_store_raises_store_error(store: Store, call: Callable) -> None:
    await store.aclose()

    with pytest.raises(StoreError, match="closed"):
        await call(store)


async def test_closing_twice_is_harmless_and_reopening_is_refused(store: Store) -> None:
    await store.aclose()
    await store.aclose()

    with pytest.raises(StoreError, match="closed"):
        await store.open()


async def test_a_store_must_be_opened_before_use(make_store: Callable[[], Store]) -> None:
    store = make_store()

    with pytest.raises(StoreError, match="not open"):
        await store.recent_turns(CONVERSATION, 5)
    await store.aclose()


async def test_open_is_idempotent(store: Store) -> None:
    await store.add_turn(CONVERSATION, user("kept"))

    await store.open()

    assert texts(await store.recent_turns(CONVERSATION, 5)) == ["kept"]


async def test_store_is_an_async_context_manager(make_store: Callable[[], Store]) -> None:
    async with make_store() as store:
        await store.add_turn(CONVERSATION, user("x"))

    with pytest.raises(StoreError):
        await store.recent_turns(CONVERSATION, 5)
