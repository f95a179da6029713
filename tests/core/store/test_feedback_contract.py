"""What Slack's agent experience keeps, run against every store: the 👍/👎 people give
answers, and a persona's suggested prompts and loading messages (with its audit log).

Same fixtures as ``test_contract.py`` (imported, not copied): a new store joins every
suite by one entry in ``STORE_FACTORIES``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from core.errors import StoreError
from core.store import Store
from core.types import ChannelRef, Feedback, FeedbackTotals, Persona
from tests.core.store.test_contract import (  # noqa: F401 - clock, make_store, store are fixtures
    clock,
    make_store,
    store,
)

CHANNEL = ChannelRef("slack", "T1", "C1")
# Text as people write it: quotes, commas, brackets, non-ASCII, an emoji.
PROMPTS = ('Summarise this thread', 'What did "ada" decide, [and] why?', "Résumé ✓ 🚀")
LOADING = ("Thinking…", "Reading the thread, one moment")


def click(answer_id: str, user_id: str, helpful: bool, channel: ChannelRef = CHANNEL) -> Feedback:
    return Feedback(channel, answer_id, user_id, helpful)


# -- feedback --------------------------------------------------------------------------


async def test_a_channel_has_no_feedback_at_first(store: Store) -> None:
    assert await store.feedback_totals(CHANNEL) == FeedbackTotals(0, 0)


async def test_feedback_is_counted_by_value(store: Store) -> None:
    for answer_id, user_id, helpful in [("A1", "U1", True), ("A1", "U2", True),
                                        ("A2", "U1", True), ("A2", "U3", False)]:
        await store.record_feedback(click(answer_id, user_id, helpful))

    assert await store.feedback_totals(CHANNEL) == FeedbackTotals(helpful=3, unhelpful=1)


async def test_a_second_click_by_the_same_person_replaces_the_first(store: Store) -> None:
    await store.record_feedback(click("A1", "U1", True))
    await store.record_feedback(click("A1", "U1", False))
    assert await store.feedback_totals(CHANNEL) == FeedbackTotals(0, 1)

    await store.record_feedback(click("A1", "U1", True))
    await store.record_feedback(click("A1", "U1", True))  # the same click again
    assert await store.feedback_totals(CHANNEL) == FeedbackTotals(1, 0)


async def test_each_person_counts_once_on_each_answer(store: Store) -> None:
    await store.record_feedback(click("A1", "U1", False))
    await store.record_feedback(click("A2", "U1", False))  # same person, another answer
    await store.record_feedback(click("A1", "U2", False))  # same answer, another person

    assert await store.feedback_totals(CHANNEL) == FeedbackTotals(0, 3)


@pytest.mark.parametrize(
    "other",
    [ChannelRef("discord", "T1", "C1"), ChannelRef("slack", "T2", "C1"),
     ChannelRef("slack", "T1", "C2"), ChannelRef("slack", "", "C1")],
    ids=["platform", "workspace", "channel", "no-workspace"],
)
async def test_feedback_is_per_channel(store: Store, other: ChannelRef) -> None:
    # The same answer and person ids elsewhere are another answer: ids are per channel.
    await store.record_feedback(click("A1", "U1", True))
    await store.record_feedback(click("A1", "U1", False, channel=other))
    await store.record_feedback(click("A2", "U1", False, channel=other))

    assert await store.feedback_totals(CHANNEL) == FeedbackTotals(1, 0)
    assert await store.feedback_totals(other) == FeedbackTotals(0, 2)


async def test_clicks_at_once_keep_one_per_person_and_answer(store: Store) -> None:
    # One person clicking back and forth, and twenty people once each, all at the same time.
    await asyncio.gather(
        *(store.record_feedback(click("A1", "U1", n % 2 == 0)) for n in range(20)),
        *(store.record_feedback(click("A2", f"U{n}", True)) for n in range(20)))

    totals = await store.feedback_totals(CHANNEL)

    assert totals.helpful + totals.unhelpful == 21
    assert totals.helpful >= 20


# -- a persona's suggested prompts and loading messages ----------------------------------


# Only one of them set: the other (NULL in SQL) must read back as (), not None.
@pytest.mark.parametrize(("prompts", "loading"),
                         [(PROMPTS, LOADING), (("Hi",), ()), ((), LOADING[:1])],
                         ids=["both", "prompts-only", "loading-only"])
async def test_a_personas_prompts_and_loading_messages_round_trip_as_tuples(
    store: Store, prompts: tuple[str, ...], loading: tuple[str, ...]
) -> None:
    persona = Persona("Help in Slack.", "helper", suggested_prompts=prompts,
                      loading_messages=loading, tools=("time",))

    await store.set_persona(CHANNEL, persona, "U1", "ada")
    read = await store.get_persona(CHANNEL)

    assert read == persona
    assert read is not None
    assert type(read.suggested_prompts) is tuple and type(read.loading_messages) is tuple


async def test_a_new_persona_replaces_the_prompts_and_loading_messages(store: Store) -> None:
    guided = Persona("Help.", suggested_prompts=PROMPTS, loading_messages=LOADING)
    await store.set_persona(CHANNEL, guided, "U1", "ada")
    assert await store.get_persona(CHANNEL) == guided

    await store.set_persona(CHANNEL, Persona("Help."), "U1", "ada")
    read = await store.get_persona(CHANNEL)

    assert read is not None and (read.suggested_prompts, read.loading_messages) == ((), ())


async def test_persona_history_keeps_the_prompts_and_loading_messages(store: Store) -> None:
    first = Persona("Help.", suggested_prompts=PROMPTS, loading_messages=LOADING)
    second = Persona("Help less.", suggested_prompts=PROMPTS[:1])
    await store.set_persona(CHANNEL, first, "U1", "ada")
    await store.set_persona(CHANNEL, second, "U1", "ada")

    newest, oldest = await store.persona_history(CHANNEL, 10)

    assert (newest.before, newest.after) == (first, second)
    assert (oldest.before, oldest.after) == (None, first)
    for persona in (newest.before, newest.after):
        assert type(persona.suggested_prompts) is tuple
        assert type(persona.loading_messages) is tuple


# -- lifecycle -------------------------------------------------------------------------

CALLS: list[Callable] = [
    lambda store: store.record_feedback(click("A1", "U1", True)),
    lambda store: store.feedback_totals(CHANNEL),
]


@pytest.mark.parametrize("call", CALLS, ids=["record_feedback", "feedback_totals"])
async def test_a_closed_store_refuses_feedback_calls(store: Store, call: Callable) -> None:
    await store.aclose()

    with pytest.raises(StoreError):
        await call(store)


@pytest.mark.parametrize("call", CALLS, ids=["record_feedback", "feedback_totals"])
async def test_a_store_must_be_opened_before_feedback_calls(
    make_store: Callable[[], Store], call: Callable
) -> None:
    store = make_store()

    with pytest.raises(StoreError, match="not open"):
        await call(store)
    await store.aclose()
