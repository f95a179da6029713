"""The ``Store`` contract, run against every implementation.

Each test speaks only of the ``Store`` protocol, never of SQL, so a new implementation
joins by adding one entry to ``STORE_FACTORIES``. The SQLite store runs on a real file in
``tmp_path``, the PostgreSQL store on a real server, in a fresh database per test
(``postgres_url``, tests/conftest.py); nothing here mocks a database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import StoreError
from core.store import CachedStore, InMemoryStore, PostgresStore, SQLiteStore, Store
from core.types import (
    ChannelRef,
    ConversationRef,
    ImageRef,
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


def image(name: str) -> ImageRef:
    return ImageRef(name, "image/png", 640, 480, len(data_of(name)), "ab" * 32, 255)


def data_of(name: str) -> bytes:
    # Binary, with a NUL byte: stored as bytes, never as text.
    return b"\x89PNG\r\n\x1a\n\x00" + name.encode()


def pictured(text: str, *names: str, event_id: str = "") -> NewTurn:
    """A user turn showing the images ``names``, with their bytes."""
    return NewTurn("user", text, 1 + 255 * len(names), "U1", "ada", event_id=event_id,
                   images=tuple(image(name) for name in names),
                   image_data=tuple(data_of(name) for name in names))


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


# -- images of user turns --------------------------------------------------------------


async def test_a_turn_with_images_reads_back_with_them_and_their_bytes(store: Store) -> None:
    plain = await store.add_turn(CONVERSATION, user("no pictures"))
    shown = await store.add_turn(CONVERSATION, pictured("look", "a.png", "b.png", event_id="Ev1"))
    reply = await store.add_reply(
        CONVERSATION, NewTurn("assistant", "nice", 1, event_id="Ev1"), Usage(1, 1), DAY)

    assert shown.images == (image("a.png"), image("b.png"))
    assert plain.images == reply.images == ()
    # Turns compare with their images.
    assert await store.recent_turns(CONVERSATION, 10) == [plain, shown, reply]
    assert [t.images for t in await store.recent_turns(CONVERSATION, 10)] == [(), shown.images, ()]
    assert await store.answer_turns(CONVERSATION, "Ev1") == (shown, reply)
    assert await store.image_data([plain.id, shown.id, reply.id]) == {
        (shown.id, 0): data_of("a.png"), (shown.id, 1): data_of("b.png")}
    assert await store.usage(CHANNEL, DAY) == UsageTotals(Usage(1, 1), Usage(1, 1))


async def test_turns_with_and_without_images_stored_at_once_all_read_back(store: Store) -> None:
    def new(n: int) -> NewTurn:
        return pictured(str(n), f"{n}.png") if n % 3 == 0 else user(str(n))

    stored = await asyncio.gather(*(store.add_turn(CONVERSATION, new(n)) for n in range(30)))

    assert await store.recent_turns(CONVERSATION, 50) == sorted(stored, key=lambda t: t.id)
    assert [turn.images for turn in stored] == [new(n).images for n in range(30)]
    assert await store.image_data([turn.id for turn in stored]) == {
        (turn.id, 0): data_of(f"{n}.png") for n, turn in enumerate(stored) if n % 3 == 0}


async def test_image_data_of_turns_without_stored_bytes_is_empty(store: Store) -> None:
    plain = await store.add_turn(CONVERSATION, user("x"))

    assert await store.image_data([]) == {}
    assert await store.image_data([plain.id, plain.id + 1000]) == {}


async def test_a_turn_whose_bytes_do_not_match_its_images_is_refused(store: Store) -> None:
    turn = pictured("look", "a.png", "b.png")

    for broken in (replace(turn, image_data=turn.image_data[:1]), replace(turn, images=())):
        with pytest.raises(ValueError, match="image_data"):
            await store.add_turn(CONVERSATION, broken)

    assert await store.recent_turns(CONVERSATION, 10) == []


async def test_prune_images_keeps_the_bytes_of_the_newest_user_turns(store: Store) -> None:
    other = ConversationRef("slack", "T1", "C1", "other-thread")
    asked = []
    for n in range(4):
        asked.append(await store.add_turn(CONVERSATION, pictured(f"q{n}", f"{n}a", f"{n}b")))
        await store.add_reply(CONVERSATION, NewTurn("assistant", f"r{n}", 1), Usage(1, 1), DAY)
    theirs = await store.add_turn(other, pictured("theirs", "x.png"))
    before = await store.recent_turns(CONVERSATION, 20)

    assert await store.prune_images(CONVERSATION, 2) == 4  # two turns, two images each

    assert await store.image_data([turn.id for turn in asked]) == {
        (asked[n].id, position): data_of(f"{n}{suffix}")
        for n in (2, 3) for position, suffix in enumerate("ab")}
    # The references stay: the turns read back as they were.
    assert await store.recent_turns(CONVERSATION, 20) == before
    assert await store.prune_images(CONVERSATION, 2) == 0
    assert await store.prune_images(CONVERSATION, 0) == 4
    assert await store.image_data([turn.id for turn in asked]) == {}
    assert await store.image_data([theirs.id]) == {(theirs.id, 0): data_of("x.png")}


async def test_prune_images_counts_user_turns_with_or_without_images(store: Store) -> None:
    shown = await store.add_turn(CONVERSATION, pictured("look", "a.png"))
    await store.add_turn(CONVERSATION, user("and then"))
    await store.add_turn(CONVERSATION, NewTurn("assistant", "ok", 1))

    assert await store.prune_images(CONVERSATION, 5) == 0  # more than there are
    assert await store.prune_images(CONVERSATION, 2) == 0
    assert await store.prune_images(CONVERSATION, 1) == 1
    assert await store.image_data([shown.id]) == {}
    assert await store.prune_images(ConversationRef("slack", "T9", "C9", ""), 0) == 0


async def test_prune_images_refuses_a_negative_count(store: Store) -> None:
    shown = await store.add_turn(CONVERSATION, pictured("look", "a.png"))

    with pytest.raises(ValueError, match="keep_user_turns"):
        await store.prune_images(CONVERSATION, -1)

    assert await store.image_data([shown.id]) == {(shown.id, 0): data_of("a.png")}


async def test_forget_deletes_the_bytes_of_its_images(store: Store) -> None:
    sibling = ConversationRef("slack", "T1", "C1", "another-thread")
    mine = [await store.add_turn(CONVERSATION, pictured("a", "a.png", "b.png")),
            await store.add_turn(CONVERSATION, user("b"))]
    theirs = await store.add_turn(sibling, pictured("x", "x.png"))

    assert await store.forget(CONVERSATION) == 2  # turns, not images

    assert await store.image_data([turn.id for turn in mine]) == {}
    assert await store.image_data([theirs.id]) == {(theirs.id, 0): data_of("x.png")}


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


async def test_usage_keeps_cached_and_reasoning_tokens_and_the_cost(store: Store) -> None:
    answer = NewTurn("assistant", "answer", 1)
    await store.add_reply(CONVERSATION, answer, Usage(1000, 50, 768, 20, 0.000_123_456), DAY)
    await store.add_reply(CONVERSATION, answer, Usage(2000, 10, 1920, 0, 0.25), DAY - timedelta(days=1))

    totals = await store.usage(CHANNEL, DAY)

    assert totals.today == Usage(1000, 50, 768, 20, 0.000_123_456)
    assert totals.total == Usage(3000, 60, 2688, 20, 0.250_123_456)


async def test_workspace_usage_sums_the_workspaces_channels_and_no_other(store: Store) -> None:
    answer = NewTurn("assistant", "answer", 1)
    await store.add_reply(CONVERSATION, answer, Usage(1, 1, cost_usd=0.5), DAY)
    await store.add_reply(ConversationRef("slack", "T1", "C2", "t"), answer, Usage(2, 2, cost_usd=1.0), DAY)
    await store.add_reply(ConversationRef("slack", "T2", "C1", ""), answer, Usage(4, 4), DAY)
    await store.add_reply(ConversationRef("discord", "T1", "C1", ""), answer, Usage(8, 8), DAY)
    await store.add_reply(CONVERSATION, answer, Usage(16, 16), DAY - timedelta(days=1))

    totals = await store.workspace_usage(CHANNEL, DAY)

    assert totals.today == Usage(3, 3, cost_usd=1.5)
    assert totals.total == Usage(19, 19, cost_usd=1.5)


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


async def test_a_personas_vision_round_trips(store: Store) -> None:
    seeing, blind, default = replace(PIRATE, vision=True), replace(PIRATE, vision=False), PIRATE

    for persona in (seeing, blind, default):
        await store.set_persona(CHANNEL, persona, "U1", "ada")
        assert await store.get_persona(CHANNEL) == persona

    history = await store.persona_history(CHANNEL, 5)
    assert [(change.before, change.after) for change in history] == [
        (blind, default), (seeing, blind), (None, seeing)]


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
    "image_data": lambda s: s.image_data([1]),
    "prune_images": lambda s: s.prune_images(CONVERSATION, 1),
    "get_persona": lambda s: s.get_persona(CHANNEL),
    "set_persona": lambda s: s.set_persona(CHANNEL, TERSE, "U1", "ada"),
    "persona_history": lambda s: s.persona_history(CHANNEL, 5),
    "claim_event": lambda s: s.claim_event("slack", "Ev1"),
    "prune_events": lambda s: s.prune_events(60),
    "usage": lambda s: s.usage(CHANNEL, DAY),
    "workspace_usage": lambda s: s.workspace_usage(CHANNEL, DAY),
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
