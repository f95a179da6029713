"""``AnswerPipeline`` with a real engine on ``InMemoryStore`` and a recording renderer:
exactly once, takeovers, resuming after a "crash", bounded retries, draining."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from adapters.common.delivery import RetryPolicy
from adapters.common.pipeline import GAVE_UP_TEXT, RESTARTED_TEXT, AnswerPipeline
from core.engine import Engine, EngineConfig
from core.errors import ModelUnavailableError
from core.ledger import LeasePolicy
from core.model.fake import ScriptedChatModel
from core.store.memory import InMemoryStore
from core.tokens import EstimatingCounter
from core.types import ChatMessage, ChatParams, ConversationRef, IncomingMessage, Persona, Usage
from tests.fakes.renderer import RendererBank, Transient

CONVERSATION = ConversationRef("test", "W1", "C1", "T1")
ROUTE = {"channel": "C1"}
LEASE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class GatedModel:
    """Writes "partial " at once, the rest only when ``go`` is set; records each call."""

    def __init__(self, rest: str = "answer.") -> None:
        self.go = asyncio.Event()
        self.rest = rest
        self.calls: list[list[ChatMessage]] = []
        self.started = asyncio.Event()

    async def stream(self, messages: Sequence[ChatMessage], params: ChatParams) -> AsyncIterator[object]:
        self.calls.append(list(messages))
        yield "partial "
        self.started.set()
        await self.go.wait()
        yield self.rest
        yield Usage(10, 2)


def make_engine(store: InMemoryStore, model: object, **policy: float) -> Engine:
    config = EngineConfig(default_persona=Persona("You help."), model="m",
                          leases=LeasePolicy(lease_seconds=LEASE, **policy))  # type: ignore[arg-type]
    return Engine(store=store, model=model, config=config, counter=EstimatingCounter())  # type: ignore[arg-type]


def question(event_id: str = "E1", text: str = "what is up?") -> IncomingMessage:
    return IncomingMessage(CONVERSATION, "U1", "Ann", text, event_id=event_id)


def pipeline_of(engine: Engine, bank: RendererBank, clock: Clock) -> AnswerPipeline:
    return AnswerPipeline(engine, "test", bank, retry=RetryPolicy(backoff_base=0.001), now=clock)


async def settle(pipeline: AnswerPipeline) -> None:
    await pipeline._tasks.join()


async def crash(pipeline: AnswerPipeline, engine: Engine) -> None:
    """What kill -9 leaves: tasks gone, leases neither renewed nor released."""
    await engine.ledger.aclose()
    pipeline._tasks._closed = True
    for task in list(pipeline._tasks._tasks):
        task.cancel()
    await settle(pipeline)


async def crashed_mid_answer(store: InMemoryStore, clock: Clock, bank: RendererBank, **policy: float) -> None:
    """A bot that took the question, began to answer, and was killed."""
    model = GatedModel()
    engine = make_engine(store, model, **policy)
    pipeline = pipeline_of(engine, bank, clock)
    if not await pipeline.accept(question(), ROUTE):
        await pipeline._resume_some()  # an earlier crash left it: this start takes it over
    await model.started.wait()
    await asyncio.sleep(0)  # the preview message is posted and recorded
    await crash(pipeline, engine)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(clock: Clock) -> AsyncIterator[InMemoryStore]:
    async with InMemoryStore(clock=clock) as opened:
        yield opened


async def test_an_event_is_answered_once_and_recorded_as_delivered(store, clock) -> None:
    engine = make_engine(store, ScriptedChatModel(["Hi there."]))
    bank = RendererBank(preview=False)
    pipeline = pipeline_of(engine, bank, clock)
    assert await pipeline.accept(question(), ROUTE) is True
    assert await pipeline.accept(question(), ROUTE) is False  # Slack's retry, a twin event
    await settle(pipeline)
    assert await pipeline.accept(question(), ROUTE) is False
    assert len(bank.made) == 1 and bank.made[0].texts() == ["Hi there."]
    record = await store.get_answer(("test", "E1"))
    assert record is not None and record.state == "delivered"
    assert record.delivery.final == 1 and record.delivery.messages == ("m1",)
    assert not engine.ledger.held


async def test_a_crashed_answer_is_resumed_by_the_next_start_with_the_question_once(store, clock) -> None:
    bank = RendererBank()
    await crashed_mid_answer(store, clock, bank)
    assert bank.made[0].texts() == ["partial "]

    second_model = ScriptedChatModel(["The whole answer."])
    restarted = pipeline_of(make_engine(store, second_model), bank, clock)
    restarted.start()
    await settle(restarted)
    assert len(bank.made) == 1  # the lease still runs: nothing is taken yet
    clock.advance(LEASE)
    assert await restarted._resume_some() == 1
    await settle(restarted)
    await restarted._stop_resumer()

    # The preview message was edited into the answer's first part, the second posted.
    shown = bank.made[1].shown
    assert bank.made[1].resumed and shown["m1"] == "The whole " and list(shown.values()) == ["The whole ", "answer."]
    sent = second_model.calls[0][0]
    assert [m.content for m in sent].count("Ann: what is up?") == 1
    turns = await store.recent_turns(CONVERSATION, 10)
    assert [(t.role, t.content) for t in turns] == [("user", "Ann: what is up?"), ("assistant", "The whole answer.")]
    record = await store.get_answer(("test", "E1"))
    assert record is not None and record.state == "delivered" and record.attempts == 2


async def test_a_platform_retry_takes_over_an_answer_whose_lease_ran_out(store, clock) -> None:
    bank = RendererBank()
    await crashed_mid_answer(store, clock, bank)

    restarted = pipeline_of(make_engine(store, ScriptedChatModel(["Done."])), bank, clock)
    assert await restarted.accept(question(), ROUTE) is False  # still held by the dead one
    clock.advance(LEASE)
    assert await restarted.accept(question(), ROUTE) is True
    await settle(restarted)
    assert "Done." in bank.made[-1].texts()


async def test_a_reply_stored_but_not_delivered_is_delivered_without_asking_again(store, clock) -> None:
    engine = make_engine(store, ScriptedChatModel(["Stored reply."]))
    bank = RendererBank(preview=False)
    bank_renderer_fails = pipeline_of(engine, bank, clock)
    # Every post fails for now: the reply is stored, the answer is left for later.
    original = bank.__call__

    async def failing(message, route, resumed):
        renderer = await original(message, route, resumed)
        renderer.fail("post", Transient(), times=99)
        return renderer

    bank_renderer_fails._renderers = failing  # type: ignore[assignment]
    await bank_renderer_fails.accept(question(), ROUTE)
    await settle(bank_renderer_fails)
    record = await store.get_answer(("test", "E1"))
    assert record is not None and record.state == "answering"

    later_model = ScriptedChatModel([])  # asking again would fail the test
    later = pipeline_of(make_engine(store, later_model), bank, clock)
    assert await later._resume_some() == 1  # released: taken at once
    await settle(later)
    assert bank.made[-1].texts() == ["Stored rep", "ly."]
    assert later_model.calls == []
    assert (await store.get_answer(("test", "E1"))).state == "delivered"  # type: ignore[union-attr]


async def test_an_answer_too_old_to_resume_tells_the_user(store, clock) -> None:
    bank = RendererBank(preview=False)
    await crashed_mid_answer(store, clock, bank, resume_max_age_seconds=600)
    clock.advance(601)

    later_model = ScriptedChatModel([])
    later = pipeline_of(make_engine(store, later_model, resume_max_age_seconds=600), bank, clock)
    await later._resume_some()
    await settle(later)
    assert bank.made[-1].texts() == [f"[{RESTARTED_TEXT}]"]
    assert later_model.calls == []
    assert (await store.get_answer(("test", "E1"))).state == "failed"  # type: ignore[union-attr]


async def test_a_question_that_keeps_crashing_the_bot_is_given_up_after_the_attempts(store, clock) -> None:
    bank = RendererBank(preview=False)
    for _ in range(3):  # the first answer and two takeovers, each "crashing"
        await crashed_mid_answer(store, clock, bank)
        clock.advance(LEASE)
    last = pipeline_of(make_engine(store, ScriptedChatModel([])), bank, clock)
    await last._resume_some()
    await settle(last)
    assert bank.made[-1].texts() == [f"[{GAVE_UP_TEXT}]"]
    record = await store.get_answer(("test", "E1"))
    assert record is not None and record.state == "failed" and record.attempts == 4


async def test_a_model_failure_is_shown_and_recorded_as_failed(store, clock) -> None:
    engine = make_engine(store, ScriptedChatModel([ModelUnavailableError("down")]))
    bank = RendererBank(preview=False)
    pipeline = pipeline_of(engine, bank, clock)
    await pipeline.accept(question(), ROUTE)
    await settle(pipeline)
    assert bank.made[0].texts() == ["[" + ModelUnavailableError.user_text + "]"]
    assert (await store.get_answer(("test", "E1"))).state == "failed"  # type: ignore[union-attr]
    # The question is kept (memory stays consistent); no reply was stored.
    turns = await store.recent_turns(CONVERSATION, 10)
    assert [t.role for t in turns] == ["user"]


async def test_a_failing_preview_does_not_stop_the_answer(store, clock) -> None:
    model = GatedModel(rest="and the rest")
    engine = make_engine(store, model)
    bank = RendererBank()
    original = bank.__call__

    async def broken_previews(message, route, resumed):
        renderer = await original(message, route, resumed)
        renderer.fail("update", RuntimeError("preview broke"), times=99)
        return renderer

    pipeline = pipeline_of(engine, bank, clock)
    pipeline._renderers = broken_previews  # type: ignore[assignment]
    model.go.set()
    await pipeline.accept(question(), ROUTE)
    await settle(pipeline)
    assert "".join(bank.made[0].texts()) == "partial and the rest"


async def test_drain_waits_for_quick_answers_and_leaves_slow_ones_to_the_next_start(store, clock) -> None:
    slow_model = GatedModel()
    engine = make_engine(store, slow_model)
    bank = RendererBank()
    pipeline = pipeline_of(engine, bank, clock)
    await pipeline.accept(question("SLOW"), ROUTE)
    await slow_model.started.wait()
    finished, left = await pipeline.drain(grace=0.05)
    assert (finished, left) == (0, 1)
    # Arriving while drained: recorded, left for the next start, not answered here.
    assert await pipeline.accept(question("LATE", "and this?"), ROUTE) is True
    assert len(bank.made) == 1

    next_model = ScriptedChatModel(lambda messages, params: f"re: {messages[-1].content}")
    next_start = pipeline_of(make_engine(store, next_model), bank, clock)
    assert await next_start._resume_some() == 2  # released: no lease to wait for
    await settle(next_start)
    for event_id in ("SLOW", "LATE"):
        record = await store.get_answer(("test", event_id))
        assert record is not None and record.state == "delivered"
    shown = "".join(bank.made[-1].texts())
    assert "re: Ann: and this?" in shown and "re: Ann: what is up?" in shown and "partial" not in shown


async def test_drain_lets_an_answer_within_the_grace_finish(store, clock) -> None:
    model = GatedModel()
    engine = make_engine(store, model)
    bank = RendererBank()
    pipeline = pipeline_of(engine, bank, clock)
    await pipeline.accept(question(), ROUTE)
    await model.started.wait()
    drained = asyncio.create_task(pipeline.drain(grace=30))
    await asyncio.sleep(0)
    model.go.set()
    assert await drained == (1, 0)
    assert bank.made[0].texts() == ["partial an", "swer."]
    assert (await store.get_answer(("test", "E1"))).state == "delivered"  # type: ignore[union-attr]


async def test_answers_of_one_conversation_on_two_replicas_are_written_in_claim_order(store, clock) -> None:
    first_model = GatedModel(rest="first answer.")
    second_model = ScriptedChatModel(["second answer."])
    bank = RendererBank(preview=False)
    replica_1 = pipeline_of(make_engine(store, first_model), bank, clock)
    replica_2 = pipeline_of(make_engine(store, second_model), bank, clock)
    await replica_1.accept(question("A", "first?"), ROUTE)
    await first_model.started.wait()
    await replica_2.accept(question("B", "second?"), ROUTE)
    await asyncio.sleep(0.1)
    assert second_model.calls == []  # waiting for its turn, not answering
    first_model.go.set()
    await settle(replica_1)
    await settle(replica_2)
    # The second answer was asked after the first was stored, and saw it.
    sent = [m.content for m in second_model.calls[0][0]]
    assert sent[1:] == ["Ann: first?", "partial first answer.", "Ann: second?"]
    turns = await store.recent_turns(CONVERSATION, 10)
    assert [t.content for t in turns] == ["Ann: first?", "partial first answer.", "Ann: second?", "second answer."]


async def test_other_conversations_do_not_wait(store, clock) -> None:
    slow = GatedModel()
    bank = RendererBank(preview=False)
    replica_1 = pipeline_of(make_engine(store, slow), bank, clock)
    other_model = ScriptedChatModel(["elsewhere."])
    replica_2 = pipeline_of(make_engine(store, other_model), bank, clock)
    await replica_1.accept(question("A"), ROUTE)
    await slow.started.wait()
    elsewhere = IncomingMessage(ConversationRef("test", "W1", "C2", ""), "U2", "Bo", "hi", event_id="Z")
    await replica_2.accept(elsewhere, ROUTE)
    await settle(replica_2)
    assert len(other_model.calls) == 1
    slow.go.set()
    await settle(replica_1)


async def test_a_repeat_of_an_unfinished_answer_while_draining_is_left_for_the_next_start(store, clock) -> None:
    bank = RendererBank(preview=False)
    await crashed_mid_answer(store, clock, bank)
    clock.advance(LEASE)
    draining = pipeline_of(make_engine(store, ScriptedChatModel([])), bank, clock)
    await draining.drain(grace=0)
    assert await draining.accept(question(), ROUTE) is True  # taken, then released
    assert len(bank.made) == 1  # not answered by the process that is going away
    next_start = pipeline_of(make_engine(store, ScriptedChatModel(["done."])), bank, clock)
    assert await next_start._resume_some() == 1  # released: no lease to wait for
    await settle(next_start)
    assert (await store.get_answer(("test", "E1"))).state == "delivered"  # type: ignore[union-attr]
