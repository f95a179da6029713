"""The answer-record part of the ``Store`` contract, run against every implementation.

Same fixtures as ``test_contract.py`` (imported, not copied): a new store joins both
suites by one entry in ``STORE_FACTORIES``. Times come from the ``FakeClock``, so leases
run out exactly when a test moves the clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from core.answers import AnswerKey, Delivery
from core.errors import StoreError
from core.store import Store
from core.types import ConversationRef, FileRef, IncomingMessage, NewTurn, Usage
from tests.core.store.test_contract import (  # noqa: F401 - clock, make_store, store are fixtures
    STORE_FACTORIES,
    FakeClock,
    clock,
    data_of,
    make_store,
    pictured,
    place_for,
    store,
)

CONVERSATION = ConversationRef("slack", "T1", "C1", "1700000000.000100")
ROUTE = {"channel": "C1", "thread_ts": "1700000000.000100"}
LEASE = 30.0
DAY = date(2024, 5, 1)
FILES = (FileRef("shot.png", "image/png", 1234, "https://files.example/shot.png"),
         FileRef("notes ✓.txt", "text/plain", 0, "/tmp/notes.txt"))


def message(event_id: str = "Ev1", conversation: ConversationRef = CONVERSATION) -> IncomingMessage:
    return IncomingMessage(conversation, "U1", "ada", f"question {event_id}", event_id=event_id)


def key_of(event_id: str, platform: str = "slack") -> AnswerKey:
    return (platform, event_id)


async def claim(store: Store, event_id: str = "Ev1", owner: str = "A",
                lease: float = LEASE, conversation: ConversationRef = CONVERSATION) -> AnswerKey:
    assert await store.claim_answer(message(event_id, conversation), ROUTE, owner, lease)
    return (conversation.platform, event_id)


# -- claims ----------------------------------------------------------------------------


async def test_claim_answer_is_true_once_then_false_whatever_the_state(store: Store) -> None:
    assert await store.claim_answer(message(), ROUTE, "A", LEASE) is True
    assert await store.claim_answer(message(), ROUTE, "B", LEASE) is False

    assert await store.finish_answer(key_of("Ev1"), "A", "delivered", Delivery()) is True
    assert await store.claim_answer(message(), ROUTE, "A", LEASE) is False
    assert (await store.get_answer(key_of("Ev1"))).state == "delivered"


async def test_answers_are_per_platform(store: Store) -> None:
    discord = ConversationRef("discord", "G1", "C1")

    assert await store.claim_answer(message("1"), ROUTE, "A", LEASE) is True
    assert await store.claim_answer(message("1", discord), ROUTE, "A", LEASE) is True
    assert (await store.get_answer(("discord", "1"))).conversation == discord


async def test_of_concurrent_claims_of_one_event_one_wins(store: Store) -> None:
    results = await asyncio.gather(*(
        store.claim_answer(message(), ROUTE, f"owner{i}", LEASE) for i in range(50)))

    assert results.count(True) == 1
    winner = f"owner{results.index(True)}"
    assert (await store.get_answer(key_of("Ev1"))).owner == winner


async def test_a_claim_round_trips_the_whole_message_and_route(
    store: Store, clock: FakeClock
) -> None:
    dm = ConversationRef("discord", "", "D9", "")
    asked = IncomingMessage(dm, "U7", "grace", "multi\nline ✓", is_dm=True, is_admin=True,
                            event_id="1234567890")

    assert await store.claim_answer(asked, {"channel": "D9", "reply_to": "1234567890"}, "A", 5)
    record = await store.get_answer(("discord", "1234567890"))

    assert record is not None
    assert record.message == asked
    assert record.route == {"channel": "D9", "reply_to": "1234567890"}
    assert (record.state, record.owner, record.attempts) == ("answering", "A", 1)
    assert record.delivery == Delivery()
    assert record.created_at == clock.now
    assert record.key == ("discord", "1234567890")


async def test_a_claim_keeps_the_messages_files(store: Store, clock: FakeClock) -> None:
    with_files = replace(message("Ev1"), files=FILES)
    assert await store.claim_answer(with_files, ROUTE, "A", LEASE)
    await claim(store, "Ev2")

    assert (await store.get_answer(key_of("Ev1"))).message == with_files
    assert (await store.get_answer(key_of("Ev2"))).message.files == ()
    clock.advance(LEASE)
    assert (await store.take_answer(key_of("Ev1"), "B", LEASE)).message == with_files
    clock.advance(LEASE)
    taken = await store.take_expired_answers("slack", "C", LEASE, 10)
    assert [record.message for record in taken] == [with_files, message("Ev2")]


async def test_an_unknown_answer_is_none(store: Store) -> None:
    assert await store.get_answer(key_of("nope")) is None
    assert await store.take_answer(key_of("nope"), "B", LEASE) is None


# -- leases and takeovers --------------------------------------------------------------


async def test_take_answer_waits_for_the_lease_to_run_out(store: Store, clock: FakeClock) -> None:
    key = await claim(store, lease=LEASE)

    assert await store.take_answer(key, "B", LEASE) is None
    clock.advance(LEASE - 0.001)
    assert await store.take_answer(key, "B", LEASE) is None
    clock.advance(0.001)
    taken = await store.take_answer(key, "B", LEASE)

    assert taken is not None
    assert (taken.owner, taken.attempts, taken.state) == ("B", 2, "answering")
    assert taken.message == message()
    assert await store.get_answer(key) == taken
    # B's own lease now runs: nobody else takes it.
    assert await store.take_answer(key, "C", LEASE) is None


async def test_of_two_takers_at_once_one_wins(store: Store, clock: FakeClock) -> None:
    key = await claim(store)
    clock.advance(LEASE)

    taken = await asyncio.gather(*(store.take_answer(key, f"T{i}", LEASE) for i in range(10)))

    winners = [record for record in taken if record is not None]
    assert len(winners) == 1
    assert winners[0].attempts == 2
    assert (await store.get_answer(key)).owner == winners[0].owner


async def test_the_old_owner_loses_the_answer_after_a_takeover(
    store: Store, clock: FakeClock
) -> None:
    key = await claim(store, owner="A")
    clock.advance(LEASE)
    assert await store.take_answer(key, "B", LEASE) is not None

    assert await store.renew_answers([key], "A", LEASE) == 0
    assert await store.save_delivery(key, "A", Delivery(("old",), 1)) is False
    assert await store.finish_answer(key, "A", "delivered", Delivery(("old",), 1)) is False
    record = await store.get_answer(key)
    assert (record.owner, record.state, record.delivery) == ("B", "answering", Delivery())

    assert await store.save_delivery(key, "B", Delivery(("new",), 0)) is True
    assert await store.finish_answer(key, "B", "delivered", Delivery(("new",), 1)) is True


async def test_renew_extends_the_lease_from_now(store: Store, clock: FakeClock) -> None:
    key = await claim(store, lease=10)
    clock.advance(8)

    assert await store.renew_answers([key], "A", 30) == 1
    clock.advance(29)  # 37 s after the claim, 29 after the renewal
    assert await store.take_answer(key, "B", LEASE) is None
    clock.advance(1)
    assert (await store.take_answer(key, "B", LEASE)).owner == "B"


async def test_renew_counts_only_answers_the_owner_still_holds(store: Store) -> None:
    mine, theirs, done = (await claim(store, "1", "A"), await claim(store, "2", "B"),
                          await claim(store, "3", "A"))
    await store.finish_answer(done, "A", "failed", Delivery())

    assert await store.renew_answers([mine, theirs, done, key_of("unknown")], "A", LEASE) == 1
    assert await store.renew_answers([], "A", LEASE) == 0


async def test_release_makes_answers_takeable_at_once(store: Store) -> None:
    first, second, theirs = (await claim(store, "1", "A", lease=600),
                             await claim(store, "2", "A", lease=600),
                             await claim(store, "3", "B", lease=600))

    assert await store.release_answers([first, second, theirs], "A") == 2

    assert (await store.take_answer(first, "C", LEASE)).attempts == 2
    assert (await store.take_answer(second, "C", LEASE)).owner == "C"
    assert await store.take_answer(theirs, "C", LEASE) is None


async def test_take_expired_answers_takes_the_oldest_expired_of_its_platform(
    store: Store, clock: FakeClock
) -> None:
    discord = ConversationRef("discord", "G1", "C1")
    old = await claim(store, "old", lease=10)
    clock.advance(1)
    await claim(store, "held", lease=600)
    await claim(store, "other-platform", lease=10, conversation=discord)
    finished = await claim(store, "finished", lease=10)
    await store.finish_answer(finished, "A", "delivered", Delivery())
    clock.advance(1)
    newer = await claim(store, "newer", lease=10)
    clock.advance(20)

    taken = await store.take_expired_answers("slack", "B", LEASE, 10)

    assert [record.key for record in taken] == [old, newer]
    assert {(record.owner, record.attempts) for record in taken} == {("B", 2)}
    assert await store.take_expired_answers("slack", "C", LEASE, 10) == []
    assert (await store.get_answer(key_of("held"))).owner == "A"


async def test_take_expired_answers_is_bounded_by_limit(store: Store, clock: FakeClock) -> None:
    # Claimed in the reverse of their ids' order: the oldest are taken, not the least.
    for event_id in ("e", "d", "c", "b", "a"):
        await claim(store, event_id, lease=1)
        clock.advance(1)

    first = await store.take_expired_answers("slack", "B", LEASE, 2)
    rest = await store.take_expired_answers("slack", "B", LEASE, 10)

    assert [record.message.event_id for record in first] == ["e", "d"]
    assert [record.message.event_id for record in rest] == ["c", "b", "a"]
    assert await store.take_expired_answers("slack", "B", LEASE, 0) == []


async def test_answers_claimed_in_the_same_instant_are_taken_in_claim_order(
    store: Store, clock: FakeClock
) -> None:
    for event_id in ("c", "a", "b"):
        await claim(store, event_id, lease=1)
    clock.advance(1)

    first = await store.take_expired_answers("slack", "B", LEASE, 2)
    rest = await store.take_expired_answers("slack", "B", LEASE, 2)

    assert [record.message.event_id for record in first] == ["c", "a"]
    assert [record.message.event_id for record in rest] == ["b"]


# -- delivery and finishing ------------------------------------------------------------


async def test_save_delivery_round_trips(store: Store) -> None:
    key = await claim(store)
    progress = Delivery(("1700000001.000200", "1700000002.000300"), 1)

    assert await store.save_delivery(key, "A", progress) is True

    assert (await store.get_answer(key)).delivery == progress


@pytest.mark.parametrize("state", ["delivered", "failed"])
async def test_a_finished_answer_stays_finished(
    store: Store, clock: FakeClock, state: str
) -> None:
    key = await claim(store)
    final = Delivery(("m1", "m2"), 2)

    assert await store.finish_answer(key, "A", state, final) is True  # type: ignore[arg-type]
    clock.advance(LEASE * 10)

    assert await store.take_answer(key, "B", LEASE) is None
    assert await store.take_expired_answers("slack", "B", LEASE, 10) == []
    assert await store.finish_answer(key, "A", "failed", Delivery()) is False
    assert await store.save_delivery(key, "A", Delivery(("later",), 0)) is False
    assert await store.renew_answers([key], "A", LEASE) == 0
    assert await store.release_answers([key], "A") == 0
    record = await store.get_answer(key)
    assert (record.state, record.delivery, record.attempts) == (state, final, 1)


async def test_finishing_as_answering_is_refused(store: Store) -> None:
    key = await claim(store)

    with pytest.raises(ValueError, match="delivered or failed"):
        await store.finish_answer(key, "A", "answering", Delivery())  # type: ignore[arg-type]
    assert (await store.get_answer(key)).state == "answering"


async def test_of_concurrent_finishes_only_the_holders_first_counts(store: Store) -> None:
    key = await claim(store, owner="B")

    results = await asyncio.gather(
        store.finish_answer(key, "A", "delivered", Delivery(("a",), 1)),
        store.finish_answer(key, "B", "delivered", Delivery(("b",), 1)),
        store.finish_answer(key, "B", "failed", Delivery(("b2",), 0)),
    )

    assert results == [False, True, False]
    record = await store.get_answer(key)
    assert (record.state, record.delivery) == ("delivered", Delivery(("b",), 1))


async def test_a_burst_of_claims_and_finishes_is_all_correct(
    store: Store, clock: FakeClock
) -> None:
    events = [f"E{i}" for i in range(300)]
    claims = await asyncio.gather(*(
        store.claim_answer(message(event_id), ROUTE, "A", LEASE) for event_id in events))
    again = await asyncio.gather(*(
        store.claim_answer(message(event_id), ROUTE, "B", LEASE) for event_id in events))
    state = {event_id: ("delivered" if i % 3 else "failed") for i, event_id in enumerate(events)}

    finishes = await asyncio.gather(*(
        call for event_id in events for call in (
            store.finish_answer(key_of(event_id), "intruder", "failed", Delivery()),
            store.finish_answer(key_of(event_id), "A", state[event_id],  # type: ignore[arg-type]
                                Delivery((f"m-{event_id}",), 1)),
            store.finish_answer(key_of(event_id), "A", "failed", Delivery()),
        )))

    assert claims == [True] * 300
    assert again == [False] * 300
    assert finishes == [False, True, False] * 300
    for event_id in events:
        record = await store.get_answer(key_of(event_id))
        assert (record.state, record.delivery.messages) == (state[event_id], (f"m-{event_id}",))


# -- turns linked to an answer ---------------------------------------------------------


def linked(role: str, text: str, event_id: str) -> NewTurn:
    return NewTurn(role, text, 1, "U1", "ada", event_id=event_id)  # type: ignore[arg-type]


async def test_answer_turns_finds_the_question_and_reply_of_an_event(store: Store) -> None:
    await store.add_turn(CONVERSATION, NewTurn("user", "unlinked", 1))
    question = await store.add_turn(CONVERSATION, linked("user", "q", "Ev1"))
    await store.add_turn(CONVERSATION, linked("user", "another", "Ev2"))
    reply = await store.add_reply(CONVERSATION, linked("assistant", "r", "Ev1"), Usage(1, 1), DAY)

    assert await store.answer_turns(CONVERSATION, "Ev1") == (question, reply)
    assert await store.answer_turns(CONVERSATION, "Ev2") == (
        (await store.recent_turns(CONVERSATION, 10))[2], None)


async def test_answer_turns_of_unknown_events_and_conversations_are_none(store: Store) -> None:
    other = ConversationRef("slack", "T1", "C1", "other-thread")
    await store.add_turn(CONVERSATION, linked("user", "q", "Ev1"))
    await store.add_turn(CONVERSATION, NewTurn("user", "no event", 1))

    assert await store.answer_turns(CONVERSATION, "unknown") == (None, None)
    assert await store.answer_turns(other, "Ev1") == (None, None)
    assert await store.answer_turns(CONVERSATION, "") == (None, None)


async def test_answer_turns_gives_the_newest_of_each_role(store: Store) -> None:
    await store.add_turn(CONVERSATION, linked("user", "q1", "Ev1"))
    await store.add_turn(CONVERSATION, linked("assistant", "r1", "Ev1"))
    await store.add_turn(CONVERSATION, linked("user", "q2", "Ev1"))
    await store.add_turn(CONVERSATION, linked("assistant", "r2", "Ev1"))

    question, reply = await store.answer_turns(CONVERSATION, "Ev1")

    assert (question.content, reply.content) == ("q2", "r2")


async def test_forget_deletes_the_turns_but_keeps_the_answer(store: Store) -> None:
    key = await claim(store)
    await store.add_turn(CONVERSATION, linked("user", "q", "Ev1"))

    assert await store.forget(CONVERSATION) == 1

    assert await store.answer_turns(CONVERSATION, "Ev1") == (None, None)
    assert (await store.get_answer(key)).state == "answering"


# -- pruning ---------------------------------------------------------------------------


async def test_prune_removes_only_answers_finished_long_enough_ago(
    store: Store, clock: FakeClock
) -> None:
    old_done, old_failed, in_flight, late_done = (
        await claim(store, "old-done"), await claim(store, "old-failed"),
        await claim(store, "in-flight"), await claim(store, "late-done"))
    await store.claim_event("slack", "old-event")
    await store.finish_answer(old_done, "A", "delivered", Delivery())
    await store.finish_answer(old_failed, "A", "failed", Delivery())
    clock.advance(80)
    # Claimed as old as the others, but finished recently: its updated_at counts.
    await store.finish_answer(late_done, "A", "delivered", Delivery())
    clock.advance(20)

    assert await store.prune_events(50) == 3  # the event and two answers
    assert await store.prune_events(50) == 0

    assert await store.get_answer(old_done) is None
    assert await store.get_answer(old_failed) is None
    assert (await store.get_answer(in_flight)).state == "answering"
    assert (await store.get_answer(late_done)).state == "delivered"
    # A pruned answer's event can be claimed again, as a pruned event id can.
    assert await store.claim_answer(message("old-done"), ROUTE, "A", LEASE) is True


# -- lifecycle -------------------------------------------------------------------------

KEY = ("slack", "Ev1")
EVERY_ANSWER_CALL = {
    "claim_answer": lambda s: s.claim_answer(message(), ROUTE, "A", LEASE),
    "take_answer": lambda s: s.take_answer(KEY, "A", LEASE),
    "take_expired_answers": lambda s: s.take_expired_answers("slack", "A", LEASE, 10),
    "renew_answers": lambda s: s.renew_answers([KEY], "A", LEASE),
    "release_answers": lambda s: s.release_answers([KEY], "A"),
    "save_delivery": lambda s: s.save_delivery(KEY, "A", Delivery()),
    "finish_answer": lambda s: s.finish_answer(KEY, "A", "delivered", Delivery()),
    "get_answer": lambda s: s.get_answer(KEY),
    "answer_turns": lambda s: s.answer_turns(CONVERSATION, "Ev1"),
}


@pytest.mark.parametrize("call", EVERY_ANSWER_CALL.values(), ids=EVERY_ANSWER_CALL.keys())
async def test_a_closed_store_raises_store_error(store: Store, call: Callable) -> None:
    await store.aclose()

    with pytest.raises(StoreError, match="closed"):
        await call(store)


@pytest.mark.parametrize("call", EVERY_ANSWER_CALL.values(), ids=EVERY_ANSWER_CALL.keys())
async def test_a_store_must_be_opened_before_use(
    make_store: Callable[[], Store], call: Callable
) -> None:
    store = make_store()

    with pytest.raises(StoreError, match="not open"):
        await call(store)
    await store.aclose()


# -- across processes (two stores on one SQLite file, or one PostgreSQL database, as two
# -- bot processes or replicas) ----------------------------------------------------------

SHARED_KINDS = ["postgres", "sqlite"]


@pytest.fixture(params=SHARED_KINDS)
def make_process(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Callable[[], Store]:
    """Makes the store of one more process on the test's database."""
    place = place_for(request.param, request, tmp_path)
    return lambda: STORE_FACTORIES[request.param](place, clock)


@pytest.fixture
def two_processes(make_process: Callable[[], Store]) -> tuple[Store, Store]:
    return make_process(), make_process()


async def test_a_claim_holds_across_processes(two_processes: tuple[Store, Store]) -> None:
    first, second = two_processes
    async with first, second:
        assert await first.claim_answer(message(), ROUTE, "A", LEASE) is True
        assert await second.claim_answer(message(), ROUTE, "B", LEASE) is False

        results = await asyncio.gather(*(
            store.claim_answer(message("Ev2"), ROUTE, name, LEASE)
            for _ in range(25) for store, name in ((first, "A"), (second, "B"))))

    assert results.count(True) == 1


async def test_a_takeover_holds_across_processes(
    two_processes: tuple[Store, Store], clock: FakeClock
) -> None:
    first, second = two_processes
    async with first, second:
        key = await claim(first, owner="A")
        clock.advance(LEASE)

        taken = await asyncio.gather(*(
            store.take_answer(key, name, LEASE)
            for _ in range(10) for store, name in ((first, "A2"), (second, "B"))))
        winners = [record for record in taken if record is not None]

        assert len(winners) == 1
        assert await second.finish_answer(key, "A", "delivered", Delivery()) is False
        assert (await second.get_answer(key)).owner == winners[0].owner


async def test_answers_survive_a_restart(
    make_process: Callable[[], Store], clock: FakeClock
) -> None:
    async with make_process() as before:
        key = await claim(before)
        await before.save_delivery(key, "A", Delivery(("m",), 0))
    clock.advance(LEASE)

    async with make_process() as after:
        (record,) = await after.take_expired_answers("slack", "B", LEASE, 10)

    assert (record.key, record.delivery, record.route) == (key, Delivery(("m",), 0), ROUTE)
    assert (record.owner, record.attempts, record.message) == ("B", 2, message())


async def test_files_and_images_survive_a_restart(
    make_process: Callable[[], Store], clock: FakeClock
) -> None:
    with_files = replace(message(), files=FILES)
    async with make_process() as before:
        assert await before.claim_answer(with_files, ROUTE, "A", LEASE)
        shown = await before.add_turn(CONVERSATION, pictured("look", "a.png", event_id="Ev1"))
    clock.advance(LEASE)

    async with make_process() as after:
        (record,) = await after.take_expired_answers("slack", "B", LEASE, 10)
        assert await after.answer_turns(CONVERSATION, "Ev1") == (shown, None)
        assert await after.image_data([shown.id]) == {(shown.id, 0): data_of("a.png")}

    assert record.message == with_files


# -- claim order within a conversation --------------------------------------------------
async def test_earlier_unfinished_answers_of_the_conversation_hold_later_ones(store: Store) -> None:
    other = ConversationRef("slack", "T1", "C2", "")
    for event_id, conversation in (("A", CONVERSATION), ("X", other), ("B", CONVERSATION), ("C", CONVERSATION)):
        assert await store.claim_answer(message(event_id, conversation), ROUTE, "owner-1", LEASE)
    assert await store.earlier_unfinished(key_of("A")) is False
    assert await store.earlier_unfinished(key_of("X")) is False  # another conversation
    assert await store.earlier_unfinished(key_of("B")) is True
    assert await store.finish_answer(key_of("A"), "owner-1", "delivered", Delivery())
    assert await store.earlier_unfinished(key_of("B")) is False
    assert await store.earlier_unfinished(key_of("C")) is True  # B still answering
    assert await store.finish_answer(key_of("B"), "owner-1", "failed", Delivery())
    assert await store.earlier_unfinished(key_of("C")) is False
    assert await store.earlier_unfinished(key_of("unknown")) is False


async def test_a_later_answer_is_held_also_by_an_earlier_one_of_another_owner(store: Store, clock) -> None:
    assert await store.claim_answer(message("A"), ROUTE, "replica-1", LEASE)
    assert await store.claim_answer(message("B"), ROUTE, "replica-2", LEASE)
    clock.advance(LEASE)
    # A's owner is gone; whoever takes A over still answers it before B.
    assert await store.earlier_unfinished(key_of("B")) is True
    assert await store.take_answer(key_of("A"), "replica-2", LEASE) is not None
    assert await store.earlier_unfinished(key_of("B")) is True
