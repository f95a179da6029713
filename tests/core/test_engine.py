from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest

from core.engine import Engine, EngineConfig
from core.errors import (
    DailyBudgetExceeded,
    MessageTooLong,
    ModelUnavailableError,
    StoreError,
    UserRateLimited,
)
from core.model.fake import ScriptedChatModel
from core.tokens import EstimatingCounter
from core.types import ChannelRef, ConversationRef, NewTurn, Persona
from tests.core.conftest import CHANNEL, message

DEFAULT = Persona(system_prompt="You are the default.")


def make_engine(store, model, **config) -> Engine:
    return Engine(
        store=store,
        model=model,
        config=EngineConfig(default_persona=DEFAULT, model="m-default", **config),
        counter=EstimatingCounter(),
        today=lambda: date(2026, 11, 22),
    )


async def answer(engine: Engine, msg) -> str:
    async with engine.reply(msg) as reply:
        return "".join([delta async for delta in reply])


async def test_reply_streams_and_stores_both_turns_with_usage(memory_store):
    model = ScriptedChatModel(["Hello there, human."], chunk_size=5)
    engine = make_engine(memory_store, model)
    async with engine.reply(message("hi")) as reply:
        deltas = [d async for d in reply]
    assert len(deltas) > 1 and "".join(deltas) == "Hello there, human."
    turns = await memory_store.recent_turns(CHANNEL, 10)
    assert [(t.role, t.content) for t in turns] == [("user", "name-U1: hi"), ("assistant", "Hello there, human.")]
    assert turns[0].author_id == "U1"
    # The fake model reports about four characters a token; the reply's usage is the model's.
    assert reply.usage is not None and reply.usage.completion_tokens == len(reply.text) // 4 + 1
    assert turns[1].tokens == reply.usage.completion_tokens
    totals = await memory_store.usage(CHANNEL.channel_ref, date(2026, 11, 22))
    assert totals.today == reply.usage and totals.today.total_tokens > 0


async def test_context_is_persona_then_history_then_new_message(memory_store):
    model = ScriptedChatModel(["one", "two"])
    engine = make_engine(memory_store, model)
    await answer(engine, message("first"))
    await answer(engine, message("second"))
    sent, params = model.calls[1]
    assert [(m.role, m.content) for m in sent] == [
        ("system", "You are the default."),
        ("user", "name-U1: first"),
        ("assistant", "one"),
        ("user", "name-U1: second"),
    ]
    assert params.model == "m-default"


async def test_context_keeps_only_the_newest_turns_that_fit_the_budget(memory_store):
    for i in range(10):  # each turn costs 30 tokens + 4 overhead under the estimate
        await memory_store.add_turn(CHANNEL, NewTurn("user", f"{i}" * 90, 30))
    model = ScriptedChatModel(["ok"])
    # Budget: system (7+4) + new message (1) + room for exactly three old turns (3 * 34);
    # one turn at a time (no block trimming: tests/core/test_engine_prefix.py).
    engine = make_engine(memory_store, model, context_token_budget=11 + 1 + 3 * 34 + 10, context_trim_share=0)
    await answer(engine, message("x"))
    sent = [m.content for m in model.calls[0][0]]
    assert sent == ["You are the default.", "7" * 90, "8" * 90, "9" * 90, "name-U1: x"]


async def test_long_history_is_read_page_by_page_until_the_budget_is_full(memory_store):
    for i in range(200):
        await memory_store.add_turn(CHANNEL, NewTurn("user", f"t{i}", 1))
    model = ScriptedChatModel(["ok"])
    engine = make_engine(memory_store, model, context_token_budget=100_000)
    await answer(engine, message("new"))
    sent = [m.content for m in model.calls[0][0]]
    assert sent[1:-1] == [f"t{i}" for i in range(200)]


async def test_persona_of_channel_beats_workspace_default_beats_global(memory_store):
    model = ScriptedChatModel(lambda messages, params: f"{messages[0].content}|{params.model}|{params.temperature}")
    engine = make_engine(memory_store, model)
    ws_default = CHANNEL.channel_ref.workspace_default
    await memory_store.set_persona(ws_default, Persona("workspace prompt"), "A", "admin")
    assert await answer(engine, message("a")) == "workspace prompt|m-default|None"
    await memory_store.set_persona(CHANNEL.channel_ref, Persona("channel prompt", model="m2", temperature=0.2), "A", "admin")
    assert await answer(engine, message("b")) == "channel prompt|m2|0.2"
    other = ConversationRef("test", "W2", "C1")
    assert await answer(engine, message("c", conversation=other)) == "You are the default.|m-default|None"


async def test_model_failure_keeps_the_user_turn_and_no_partial_answer(memory_store):
    model = ScriptedChatModel([ModelUnavailableError("503"), "recovered"])
    engine = make_engine(memory_store, model)
    with pytest.raises(ModelUnavailableError):
        await answer(engine, message("are you there?"))
    turns = await memory_store.recent_turns(CHANNEL, 10)
    assert [(t.role, t.content) for t in turns] == [("user", "name-U1: are you there?")]
    assert await answer(engine, message("again")) == "recovered"
    assert [m.content for m in model.calls[1][0]][1:] == ["name-U1: are you there?", "name-U1: again"]


async def test_failure_mid_stream_stores_no_answer(memory_store):
    class BreaksMidway(ScriptedChatModel):
        async def stream(self, messages, params):
            yield "half an ans"
            raise ModelUnavailableError("connection dropped")

    engine = make_engine(memory_store, BreaksMidway(["unused"]))
    with pytest.raises(ModelUnavailableError):
        await answer(engine, message("q"))
    assert [t.role for t in await memory_store.recent_turns(CHANNEL, 10)] == ["user"]


async def test_the_model_is_asked_while_the_question_is_being_stored(memory_store):
    """The question's write is off the answer's path, yet no text passes it."""
    asked = asyncio.Event()

    class AsksFirst(ScriptedChatModel):
        async def stream(self, messages, params):
            asked.set()
            async for item in super().stream(messages, params):
                yield item

    class StoresAfterTheModelIsAsked(type(memory_store)):
        async def add_turn(self, conversation, turn):
            if turn.role == "user":
                # Sequential storing would wait here for ever.
                await asyncio.wait_for(asked.wait(), timeout=5)
            return await super().add_turn(conversation, turn)

    async with StoresAfterTheModelIsAsked() as store:
        engine = make_engine(store, AsksFirst(["answer"]))
        assert await answer(engine, message("q")) == "answer"
        assert [t.role for t in await store.recent_turns(CHANNEL, 10)] == ["user", "assistant"]


async def test_a_question_that_cannot_be_stored_gets_no_answer(memory_store):
    class RefusesQuestions(type(memory_store)):
        async def add_turn(self, conversation, turn):
            raise StoreError("disk full")

    async with RefusesQuestions() as store:
        engine = make_engine(store, ScriptedChatModel(["an answer nobody may see"]))
        async with engine.reply(message("q")) as reply:
            with pytest.raises(StoreError):
                async for _ in reply:
                    pytest.fail("answer text passed on before its question was stored")
        assert reply.text == ""
        assert await store.recent_turns(CHANNEL, 10) == []


async def test_an_answer_is_written_once_the_model_is_done_and_before_it_is_stored(memory_store):
    """``written`` tells an adapter the text is whole while the reply is still being stored."""
    storing, stored = asyncio.Event(), asyncio.Event()

    class SlowToStoreReplies(type(memory_store)):
        async def add_reply(self, *args, **kwargs):
            storing.set()
            await stored.wait()
            return await super().add_reply(*args, **kwargs)

    async with SlowToStoreReplies() as store:
        engine = make_engine(store, ScriptedChatModel(["an answer"], chunk_size=3))
        async with engine.reply(message("q")) as reply:
            seen = []
            iterating = asyncio.ensure_future(_collect(reply, seen))
            await asyncio.wait_for(storing.wait(), timeout=5)
            assert reply.written and reply.text == "an answer" and not iterating.done()
            stored.set()
            await iterating
        assert seen == [False, False, False]  # while the deltas came, the model was still writing


async def test_a_failed_answer_is_never_written(memory_store):
    engine = make_engine(memory_store, ScriptedChatModel([ModelUnavailableError("down")]))
    async with engine.reply(message("q")) as reply:
        with pytest.raises(ModelUnavailableError):
            async for _ in reply:
                pass
    assert not reply.written


async def _collect(reply, written_at_each_delta: list[bool]) -> None:
    async for _ in reply:
        written_at_each_delta.append(reply.written)


async def test_oversized_input_is_refused_and_nothing_is_stored(memory_store):
    engine = make_engine(memory_store, ScriptedChatModel([]), max_input_chars=10)
    with pytest.raises(MessageTooLong) as caught:
        await answer(engine, message("x" * 11))
    assert "11" in caught.value.user_message()
    assert await memory_store.recent_turns(CHANNEL, 10) == []


async def test_user_rate_limit_says_when_to_retry(memory_store):
    now = [1000.0]
    engine = Engine(
        store=memory_store,
        model=ScriptedChatModel(lambda m, p: "ok"),
        config=EngineConfig(default_persona=DEFAULT, model="m", user_messages_per_minute=2),
        counter=EstimatingCounter(),
        clock=lambda: now[0],
    )
    await answer(engine, message("1"))
    now[0] += 10
    await answer(engine, message("2"))
    with pytest.raises(UserRateLimited) as caught:
        await answer(engine, message("3"))
    assert caught.value.retry_after == pytest.approx(50.0)
    assert await answer(engine, message("other user", user="U2")) == "ok"
    now[0] += 50.1
    assert await answer(engine, message("4")) == "ok"


async def test_daily_token_budget_blocks_the_channel_once_spent(memory_store):
    engine = make_engine(memory_store, ScriptedChatModel(lambda m, p: "x" * 400), channel_daily_token_budget=50)
    await answer(engine, message("spend it"))
    with pytest.raises(DailyBudgetExceeded):
        await answer(engine, message("more"))
    other = ConversationRef("test", "W1", "C2")
    assert await answer(engine, message("elsewhere", conversation=other)) == "x" * 400


async def test_event_is_claimed_once(memory_store):
    engine = make_engine(memory_store, ScriptedChatModel([]))
    assert await engine.claim_event("slack", "Ev1") is True
    assert await engine.claim_event("slack", "Ev1") is False
    assert await engine.claim_event("discord", "Ev1") is True


async def test_has_history_after_an_answer(memory_store):
    engine = make_engine(memory_store, ScriptedChatModel(["ok"]))
    assert not await engine.has_history(CHANNEL)
    await answer(engine, message("hi"))
    assert await engine.has_history(CHANNEL)


async def test_fifty_messages_in_one_conversation_are_handled_in_order(memory_store):
    seen: list[int] = []

    def reply(messages, params):
        seen.append(len(messages))
        return f"answer to {messages[-1].content}"

    engine = make_engine(memory_store, ScriptedChatModel(reply, delay=0.002), context_token_budget=100_000)
    await asyncio.gather(*(answer(engine, message(f"m{i}")) for i in range(50)))
    # Message i sees the system prompt, 2*i earlier turns and itself.
    assert seen == [2 + 2 * i for i in range(50)]
    turns = await memory_store.recent_turns(CHANNEL, 100)
    assert [t.content for t in turns[::2]] == [f"name-U1: m{i}" for i in range(50)]
    assert [t.content for t in turns[1::2]] == [f"answer to name-U1: m{i}" for i in range(50)]


async def test_two_hundred_conversations_run_concurrently(memory_store):
    engine = make_engine(memory_store, ScriptedChatModel(lambda m, p: "done", delay=0.5))
    started = time.perf_counter()
    replies = await asyncio.gather(
        *(answer(engine, message("go", conversation=ConversationRef("test", "W", f"C{i}"))) for i in range(200))
    )
    elapsed = time.perf_counter() - started
    assert replies == ["done"] * 200
    # Serially this would take 100 s; concurrently about one answer's time.
    assert elapsed < 5.0, elapsed


async def test_leaving_a_reply_early_releases_the_conversation(memory_store):
    engine = make_engine(memory_store, ScriptedChatModel(["a long answer in chunks", "next"], chunk_size=2))
    async with engine.reply(message("first")) as reply:
        async for _ in reply:
            break
    assert await asyncio.wait_for(answer(engine, message("second")), timeout=2) == "next"


async def test_forget_clears_only_this_conversation(memory_store):
    engine = make_engine(memory_store, ScriptedChatModel(lambda m, p: "ok"))
    other = ConversationRef("test", "W1", "C1", thread="T9")
    await answer(engine, message("here"))
    await answer(engine, message("there", conversation=other))
    assert await engine._forget(_command_for(CHANNEL)) == 2
    assert await memory_store.recent_turns(CHANNEL, 10) == []
    assert len(await memory_store.recent_turns(other, 10)) == 2


def _command_for(conversation):
    from core.types import CommandRequest

    return CommandRequest(conversation, "U1", "n", "forget", is_admin=True)


async def test_persona_for_reports_its_source(memory_store):
    engine = make_engine(memory_store, ScriptedChatModel([]))
    channel = ChannelRef("test", "W1", "C1")
    assert (await engine.persona_for(channel))[1] == "the built-in default"
    await memory_store.set_persona(channel.workspace_default, Persona("w"), "A", "a")
    assert (await engine.persona_for(channel))[1] == "the workspace default"
    await memory_store.set_persona(channel, Persona("c"), "A", "a")
    assert await engine.persona_for(channel) == (Persona("c"), "set for this channel")


async def test_a_resumed_answer_asks_again_from_the_stored_question_once(memory_store):
    model = ScriptedChatModel(["first answer", "the answer, again"])
    engine = make_engine(memory_store, model)
    await answer(engine, message("earlier", event_id="E0"))
    # The question was stored, then the process died before the reply was.
    await memory_store.add_turn(CHANNEL, NewTurn("user", "the question", 3, "U1", "name-U1", "E1"))
    async with engine.reply(message("the question", event_id="E1"), resumed=True) as reply:
        text = "".join([d async for d in reply])
    assert text == "the answer, again"
    sent = [m.content for m in model.calls[-1][0]]
    assert sent[1:] == ["name-U1: earlier", "first answer", "the question"]
    turns = await memory_store.recent_turns(CHANNEL, 10)
    assert [(t.role, t.content) for t in turns][-2:] == [("user", "the question"), ("assistant", "the answer, again")]
    assert (await memory_store.answer_turns(CHANNEL, "E1"))[1] is not None


async def test_a_resumed_answer_whose_reply_was_stored_is_not_asked_again(memory_store):
    model = ScriptedChatModel(["stored reply"])
    engine = make_engine(memory_store, model)
    await answer(engine, message("the question", event_id="E1"))
    async with engine.reply(message("the question", event_id="E1"), resumed=True) as reply:
        assert "".join([d async for d in reply]) == "stored reply"
    assert len(model.calls) == 1
    assert len(await memory_store.recent_turns(CHANNEL, 10)) == 2


async def test_a_resumed_answer_stores_its_question_if_it_never_was(memory_store):
    engine = make_engine(memory_store, ScriptedChatModel(["late answer"]))
    async with engine.reply(message("lost question", event_id="E9"), resumed=True) as reply:
        assert "".join([d async for d in reply]) == "late answer"
    turns = await memory_store.recent_turns(CHANNEL, 10)
    assert [(t.role, t.content) for t in turns] == [("user", "name-U1: lost question"), ("assistant", "late answer")]
