"""The tools part of the ``Store`` contract, run against every implementation: turns of an
answer that called tools, the tools each channel's admins chose (and their audit log),
and the tools a persona names.

Same fixtures as ``test_contract.py`` (imported, not copied): a new store joins every
suite by one entry in ``STORE_FACTORIES``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date

import pytest

from core.errors import StoreError
from core.store import Store
from core.types import ChannelRef, ConversationRef, NewTurn, Persona, ToolCall, Usage
from tests.core.store.test_contract import (  # noqa: F401 - clock, make_store, store are fixtures
    FakeClock,
    clock,
    make_store,
    store,
)

CONVERSATION = ConversationRef("slack", "T1", "C1", "1700000000.000100")
CHANNEL = CONVERSATION.channel_ref
DAY = date(2024, 5, 1)
# Arguments as a model writes them: JSON text, quotes, non-ASCII, and one not even valid.
LOOKUP = ToolCall("call_1", "orders.lookup", '{"order": "A-17", "note": "déjà vu ✓"}')
CLOCK = ToolCall("call_2", "time", "{}")
BROKEN = ToolCall("call_3", "time", '{"zone": "Europe/Par')


def question(text: str, event_id: str = "Ev1") -> NewTurn:
    return NewTurn("user", text, 3, "U1", "ada", event_id=event_id)


def asking(*calls: ToolCall, text: str = "", event_id: str = "Ev1") -> NewTurn:
    """An assistant step asking for tools (with any text it wrote beside them)."""
    return NewTurn("assistant", text, 5, event_id=event_id, tool_calls=calls)


def result(call: ToolCall, text: str, event_id: str = "Ev1") -> NewTurn:
    return NewTurn("tool", text, 2, event_id=event_id, tool_call_id=call.id)


def reply(text: str, event_id: str = "Ev1") -> NewTurn:
    return NewTurn("assistant", text, 4, event_id=event_id)


async def store_answer_with_tools(store: Store) -> list:
    """An answer of two tool steps (two calls at once, then one), then its reply."""
    return [
        await store.add_turn(CONVERSATION, question("Where is my order, and what time is it?")),
        await store.add_turn(CONVERSATION, asking(LOOKUP, CLOCK, text="Let me look.")),
        await store.add_turn(CONVERSATION, result(LOOKUP, '{"status": "shipped"}')),
        await store.add_turn(CONVERSATION, result(CLOCK, "12:00")),
        await store.add_turn(CONVERSATION, asking(BROKEN)),
        await store.add_turn(CONVERSATION, result(BROKEN, "error: arguments are not JSON")),
        await store.add_reply(CONVERSATION, reply("Shipped; it is noon."), Usage(30, 9), DAY),
    ]


# -- turns of an answer that called tools ------------------------------------------------


async def test_tool_steps_read_back_in_order_with_their_calls_and_ids(store: Store) -> None:
    stored = await store_answer_with_tools(store)

    read = await store.recent_turns(CONVERSATION, 10)

    assert read == stored
    assert [(t.role, t.tool_calls, t.tool_call_id) for t in read] == [
        ("user", (), ""),
        ("assistant", (LOOKUP, CLOCK), ""),
        ("tool", (), "call_1"),
        ("tool", (), "call_2"),
        ("assistant", (BROKEN,), ""),
        ("tool", (), "call_3"),
        ("assistant", (), ""),
    ]
    # What the model is sent again with the next question.
    assert [(m.role, m.tool_calls, m.tool_call_id) for m in (t.message for t in read[1:3])] == [
        ("assistant", (LOOKUP, CLOCK), ""), ("tool", (), "call_1")]


async def test_add_turn_returns_the_tool_step_it_stored(store: Store) -> None:
    step = await store.add_turn(CONVERSATION, asking(LOOKUP, text="Looking."))
    answered = await store.add_turn(CONVERSATION, result(LOOKUP, "found"))

    assert (step.role, step.content, step.tool_calls) == ("assistant", "Looking.", (LOOKUP,))
    assert (answered.role, answered.tool_call_id) == ("tool", "call_1")
    assert await store.recent_turns(CONVERSATION, 2) == [step, answered]


async def test_tool_steps_page_backwards_like_any_turn(store: Store) -> None:
    stored = await store_answer_with_tools(store)

    older = await store.recent_turns(CONVERSATION, 3, before_id=stored[4].id)

    assert older == stored[1:4]
    assert [(t.tool_calls, t.tool_call_id) for t in older] == [
        ((LOOKUP, CLOCK), ""), ((), "call_1"), ((), "call_2")]


async def test_answer_turns_gives_the_reply_never_a_tool_step(store: Store) -> None:
    asked = await store.add_turn(CONVERSATION, question("Where is my order?"))
    await store.add_turn(CONVERSATION, asking(LOOKUP, text="Let me look."))
    await store.add_turn(CONVERSATION, result(LOOKUP, "shipped"))

    # Tool steps stored, reply not yet (the answer was cut off): there is no reply.
    assert await store.answer_turns(CONVERSATION, "Ev1") == (asked, None)

    answered = await store.add_reply(CONVERSATION, reply("Shipped."), Usage(9, 2), DAY)
    await store.add_turn(CONVERSATION, question("And the other one?", "Ev2"))
    await store.add_turn(CONVERSATION, asking(CLOCK, event_id="Ev2"))

    assert await store.answer_turns(CONVERSATION, "Ev1") == (asked, answered)
    assert (await store.answer_turns(CONVERSATION, "Ev2"))[1] is None


async def test_forget_deletes_tool_steps_too(store: Store) -> None:
    stored = await store_answer_with_tools(store)
    assert (await store.recent_turns(CONVERSATION, 10))[1].tool_calls == (LOOKUP, CLOCK)

    assert await store.forget(CONVERSATION) == len(stored)

    assert await store.recent_turns(CONVERSATION, 10) == []
    assert await store.answer_turns(CONVERSATION, "Ev1") == (None, None)


# -- tools chosen per channel ----------------------------------------------------------

TIME_AND_ORDERS = frozenset({"time", "orders.lookup"})


async def test_a_channel_has_no_tools_chosen_at_first(store: Store) -> None:
    assert await store.get_channel_tools(CHANNEL) is None
    assert await store.tools_history(CHANNEL, 10) == []


async def test_set_channel_tools_replaces_and_clears(store: Store) -> None:
    await store.set_channel_tools(CHANNEL, TIME_AND_ORDERS, "U1", "ada")
    assert await store.get_channel_tools(CHANNEL) == TIME_AND_ORDERS

    # Every tool disabled is a choice too, unlike "not chosen" (None).
    await store.set_channel_tools(CHANNEL, frozenset(), "U1", "ada")
    assert await store.get_channel_tools(CHANNEL) == frozenset()

    await store.set_channel_tools(CHANNEL, None, "U1", "ada")
    assert await store.get_channel_tools(CHANNEL) is None


async def test_set_channel_tools_returns_its_audit_entry(store: Store, clock: FakeClock) -> None:
    await store.set_channel_tools(CHANNEL, frozenset({"time"}), "U1", "ada")

    change = await store.set_channel_tools(CHANNEL, TIME_AND_ORDERS, "U2", "bob")

    assert (change.channel, change.actor_id, change.actor_name) == (CHANNEL, "U2", "bob")
    assert (change.before, change.after) == (frozenset({"time"}), TIME_AND_ORDERS)
    assert change.changed_at == clock.now
    assert (await store.tools_history(CHANNEL, 1)) == [change]


async def test_tools_history_is_newest_first_with_before_and_after(
    store: Store, clock: FakeClock
) -> None:
    choices = [frozenset({"time"}), TIME_AND_ORDERS, frozenset(), None]
    for n, tools in enumerate(choices):
        await store.set_channel_tools(CHANNEL, tools, f"U{n}", f"admin{n}")
        clock.advance(60)

    history = await store.tools_history(CHANNEL, 10)

    assert [(c.before, c.after, c.actor_name) for c in history] == [
        (frozenset(), None, "admin3"),
        (TIME_AND_ORDERS, frozenset(), "admin2"),
        (frozenset({"time"}), TIME_AND_ORDERS, "admin1"),
        (None, frozenset({"time"}), "admin0"),
    ]
    assert [c.changed_at for c in history] == sorted((c.changed_at for c in history), reverse=True)
    assert await store.tools_history(CHANNEL, 2) == history[:2]
    assert await store.tools_history(CHANNEL, 0) == []


async def test_channel_tools_are_per_channel(store: Store) -> None:
    others = [CHANNEL.workspace_default, ChannelRef("slack", "T1", "C2"),
              ChannelRef("slack", "T2", "C1"), ChannelRef("discord", "T1", "C1")]
    await store.set_channel_tools(CHANNEL, TIME_AND_ORDERS, "U1", "ada")

    for other in others:
        assert await store.get_channel_tools(other) is None
        assert await store.tools_history(other, 10) == []
    await store.set_channel_tools(others[0], frozenset({"time"}), "U1", "ada")
    assert await store.get_channel_tools(CHANNEL) == TIME_AND_ORDERS
    assert len(await store.tools_history(CHANNEL, 10)) == 1


async def test_concurrent_changes_chain_their_audit_entries(store: Store) -> None:
    # Each change reads "before" and writes "after" at once: no change is lost between.
    choices = [frozenset({f"tool{n}"}) for n in range(10)]

    await asyncio.gather(*(store.set_channel_tools(CHANNEL, tools, "U1", "ada")
                           for tools in choices))

    history = await store.tools_history(CHANNEL, 20)
    assert len(history) == 10
    assert history[-1].before is None
    for newer, older in zip(history, history[1:]):
        assert newer.before == older.after
    assert await store.get_channel_tools(CHANNEL) == history[0].after
    assert sorted(map(sorted, (c.after for c in history))) == sorted(map(sorted, choices))


# -- a persona's tools -----------------------------------------------------------------


@pytest.mark.parametrize("tools", [("time", "orders.lookup"), (), None])
async def test_a_personas_tools_round_trip_as_a_tuple(store: Store, tools: tuple | None) -> None:
    persona = Persona("Help with orders.", "orders", tools=tools)

    await store.set_persona(CHANNEL, persona, "U1", "ada")
    read = await store.get_persona(CHANNEL)

    assert read == persona
    assert read is not None and type(read.tools) is type(tools)


async def test_persona_history_keeps_the_tools(store: Store) -> None:
    first = Persona("Help with orders.", tools=("orders.lookup", "time"))
    second = Persona("Tell the time.", tools=("time",))
    await store.set_persona(CHANNEL, first, "U1", "ada")
    await store.set_persona(CHANNEL, second, "U1", "ada")

    newest, oldest = await store.persona_history(CHANNEL, 10)

    assert (newest.before, newest.after) == (first, second)
    assert (oldest.before, oldest.after) == (None, first)
    assert isinstance(newest.before.tools, tuple)


# -- lifecycle -------------------------------------------------------------------------

CALLS: list[Callable] = [
    lambda store: store.get_channel_tools(CHANNEL),
    lambda store: store.set_channel_tools(CHANNEL, frozenset({"time"}), "U1", "ada"),
    lambda store: store.tools_history(CHANNEL, 5),
]


@pytest.mark.parametrize("call", CALLS)
async def test_a_closed_store_refuses_tools_calls(store: Store, call: Callable) -> None:
    await store.aclose()

    with pytest.raises(StoreError):
        await call(store)


@pytest.mark.parametrize("call", CALLS)
async def test_a_store_must_be_opened_before_tools_calls(
    make_store: Callable[[], Store], call: Callable
) -> None:
    store = make_store()

    with pytest.raises(StoreError, match="not open"):
        await call(store)
    await store.aclose()
