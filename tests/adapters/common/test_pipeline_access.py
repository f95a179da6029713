"""``AnswerPipeline.accept`` and ``run_command`` ask the access policy first: a refused
message is not recorded and not answered, and its author is told once an hour at most."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.common.commands import run_command
from adapters.common.delivery import RetryPolicy
from adapters.common.pipeline import AnswerPipeline
from core.access import REFUSED_TEXT, AccessPolicy
from core.engine import Engine, EngineConfig
from core.model.fake import ScriptedChatModel
from core.store.memory import InMemoryStore
from core.tokens import EstimatingCounter
from core.types import CommandRequest, ConversationRef, IncomingMessage, Persona
from tests.fakes.renderer import RendererBank

CONVERSATION = ConversationRef("test", "W1", "C1", "T1")
ROUTE = {"channel": "C1"}
BLOCKING_U9 = AccessPolicy(blocked_users=frozenset({"test:U9"}))


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    async with InMemoryStore() as store:
        config = EngineConfig(default_persona=Persona("You help."), model="m")
        yield Engine(store=store, model=ScriptedChatModel(["Hi."] * 3), config=config, counter=EstimatingCounter())


def question(event_id: str, user: str = "U9") -> IncomingMessage:
    return IncomingMessage(CONVERSATION, user, user, "hello?", event_id=event_id)


async def test_a_refused_message_is_not_claimed_not_answered_and_told_once(engine: Engine) -> None:
    bank = RendererBank(preview=False)
    pipeline = AnswerPipeline(engine, "test", bank, retry=RetryPolicy(backoff_base=0.001), access=BLOCKING_U9)
    assert not await pipeline.accept(question("E1"), ROUTE)
    assert not await pipeline.accept(question("E2"), ROUTE)
    await pipeline._tasks.join()
    [told] = bank.made
    assert list(told.shown.values()) == [f"[{REFUSED_TEXT}]"]
    assert await engine.store.recent_turns(CONVERSATION, 10) == []
    # Not claimed: were the user allowed later, the same event would be answered.
    assert await engine.claim_event("test", "E1")


async def test_allowed_users_are_answered_beside_a_refused_one(engine: Engine) -> None:
    bank = RendererBank(preview=False)
    pipeline = AnswerPipeline(engine, "test", bank, retry=RetryPolicy(backoff_base=0.001), access=BLOCKING_U9)
    assert await pipeline.accept(question("E1", user="U1"), ROUTE)
    await pipeline._tasks.join()
    assert list(bank.made[0].shown.values()) == ["Hi."]


async def test_a_refused_command_gets_the_polite_line_instead_of_running(engine: Engine) -> None:
    pipeline = AnswerPipeline(engine, "test", RendererBank(), access=BLOCKING_U9)
    forget = CommandRequest(CONVERSATION, "U9", "U9", "forget", is_dm=True)
    assert (await run_command(engine, forget, pipeline.access)).text == REFUSED_TEXT
    allowed = CommandRequest(CONVERSATION, "U1", "U1", "forget", is_dm=True)
    assert (await run_command(engine, allowed, pipeline.access)).text != REFUSED_TEXT
