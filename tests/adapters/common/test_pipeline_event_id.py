"""The answer pipeline binds the answer's event id for the log (``core/log_context.py``):
every line logged while it is written carries it, in the tasks it starts too, and two
answers written at once never mix theirs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

import pytest

from core.log_context import EventFields
from core.store.memory import InMemoryStore
from core.types import ChatMessage, ChatParams, ConversationRef, IncomingMessage, Usage
from tests.adapters.common.test_pipeline import ROUTE, Clock, make_engine, pipeline_of, settle
from tests.fakes.renderer import RendererBank

log = logging.getLogger("tests.model")


class LoggingModel:
    """Logs from the answer's task and from a task it starts; both answers wait for each other."""

    def __init__(self) -> None:
        self.asked = 0
        self.both_asked = asyncio.Event()

    async def stream(self, messages: Sequence[ChatMessage], params: ChatParams) -> AsyncIterator[object]:
        log.info("asked: %s", messages[-1].content)
        self.asked += 1
        if self.asked == 2:
            self.both_asked.set()
        await self.both_asked.wait()  # both answers are being written now
        await asyncio.create_task(_log_in_a_task(messages[-1].content))
        yield "ok"
        yield Usage(1, 1)


async def _log_in_a_task(text: object) -> None:
    log.info("in a task: %s", text)


def message(channel: str, event_id: str) -> IncomingMessage:
    return IncomingMessage(ConversationRef("test", "W1", channel, "T1"), "U1", "Ann", channel, event_id=event_id)


@pytest.fixture
def events(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO, logger="tests.model")
    fields = EventFields()
    caplog.handler.addFilter(fields)
    yield caplog
    caplog.handler.removeFilter(fields)


async def test_each_line_of_an_answer_carries_its_own_event_id(events):
    async with InMemoryStore(clock=Clock()) as store:
        pipeline = pipeline_of(make_engine(store, LoggingModel()), RendererBank(preview=False), Clock())
        await pipeline.accept(message("C1", "E1"), ROUTE)
        await pipeline.accept(message("C2", "E2"), ROUTE)
        await settle(pipeline)
    seen = {(r.getMessage(), getattr(r, "event_id", None), getattr(r, "platform", None))
            for r in events.records if r.name == "tests.model"}
    assert len(seen) == 4
    assert {(text.endswith("C1"), event) for text, event, _ in seen} == {(True, "E1"), (False, "E2")}
    assert {platform for _, _, platform in seen} == {"test"}
