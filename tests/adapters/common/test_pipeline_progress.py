"""While tools run the renderer is told what the bot is doing; the final answer replaces it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.common.delivery import RetryPolicy
from adapters.common.pipeline import AnswerPipeline
from core.engine import Engine, EngineConfig
from core.tool_steps import THINKING
from core.model.fake import Calls, ScriptedChatModel
from core.store.memory import InMemoryStore
from core.tokens import EstimatingCounter
from core.tools.policy import ToolLimits
from core.tools.registry import ToolRegistry
from core.types import ConversationRef, IncomingMessage, Persona, ToolCall
from tests.fakes.renderer import RendererBank
from tests.fakes.tools import GatedTool

CONVERSATION = ConversationRef("test", "W1", "C1", "T1")


@pytest.fixture
async def store() -> AsyncIterator[InMemoryStore]:
    async with InMemoryStore() as opened:
        yield opened


def pipeline_with(
    store: InMemoryStore, model: ScriptedChatModel, *tools: GatedTool, **renderer: object
) -> tuple[AnswerPipeline, RendererBank]:
    registry = ToolRegistry(tools)
    config = EngineConfig(default_persona=Persona("You help."), model="m",
                          tools=ToolLimits(default=frozenset(registry.names())))
    engine = Engine(store=store, model=model, config=config, counter=EstimatingCounter(), tools=registry)
    bank = RendererBank(**renderer)
    return AnswerPipeline(engine, "test", bank, retry=RetryPolicy(backoff_base=0.001)), bank


async def test_the_running_tool_is_shown_and_the_answer_replaces_it(store):
    lookup = GatedTool("lookup", "42")
    model = ScriptedChatModel([Calls([ToolCall("c1", "lookup", "{}")], "Let me look."), "It is 42."])
    pipeline, bank = pipeline_with(store, model, lookup)
    await pipeline.accept(IncomingMessage(CONVERSATION, "U1", "Ann", "what is it?", event_id="E1"), {})
    await asyncio.wait_for(lookup.started.wait(), timeout=5)
    [renderer] = bank.made
    # While the tool runs, the user sees the words so far and what runs.
    assert renderer.previews[-1] == "Let me look.\n(Running lookup…)"
    lookup.release()
    await pipeline._tasks.join()
    assert ("status", THINKING) in renderer.calls and ("status", "") in renderer.calls
    # The fake renderer splits an answer into parts of ten characters.
    assert "".join(renderer.texts()) == "Let me look.\n\nIt is 42."
    statuses = [text for call, text in renderer.calls if call == "status"]
    assert statuses == ["Running lookup…", THINKING, ""]


async def test_a_status_that_cannot_be_shown_stops_previews_but_not_the_answer(store):
    lookup = GatedTool("lookup", "42")
    lookup.release()
    model = ScriptedChatModel([Calls([ToolCall("c1", "lookup", "{}")]), "It is 42."])
    pipeline, bank = pipeline_with(store, model, lookup,
                                   failures={"status": [RuntimeError("status refused")]})
    await pipeline.accept(IncomingMessage(CONVERSATION, "U1", "Ann", "what is it?", event_id="E2"), {})
    await pipeline._tasks.join()
    [renderer] = bank.made
    assert "".join(renderer.texts()) == "It is 42."
    assert [call for call, _ in renderer.calls].count("status") == 1  # no more previews after it
