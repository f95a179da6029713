"""``ReplyStream``'s metrics: answers in flight, time to first token and answer duration,
by the model the engine chose (``ReplyStream.model``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from core.errors import ModelUnavailableError
from core.reply_stream import ReplyStream
from core.types import ConversationRef, IncomingMessage

MESSAGE = IncomingMessage(ConversationRef("test", "W1", "C1", "T1"), "U1", "Ann", "hi", event_id="E1")


def sample(name: str, model: str) -> float:
    return REGISTRY.get_sample_value(name, {"model": model}) or 0.0


def first_token_count(model: str) -> float:
    return sample("chatwright_time_to_first_token_seconds_count", model)


def duration_count(model: str) -> float:
    return sample("chatwright_answer_duration_seconds_count", model)


def in_flight() -> float:
    return REGISTRY.get_sample_value("chatwright_answers_in_flight") or 0.0


class Engine:
    """What ``ReplyStream`` asks of the engine: a stream of deltas that sets ``model``."""

    def __init__(self, model: str, preface: str = "", fail: bool = False) -> None:
        self.model, self.preface, self.fail = model, preface, fail
        self.model_asked = asyncio.Event()
        self.go = asyncio.Event()
        self.in_flight_seen = 0.0
        self.first_tokens_before_text = 0.0

    async def _stream(self, message: IncomingMessage, sink: ReplyStream) -> AsyncIterator[str]:
        self.in_flight_seen = in_flight()
        if self.preface:  # notices about files come before the model is asked
            sink.preface = self.preface
            sink.parts.append(self.preface)
            yield self.preface
        sink.model = self.model
        yield ""  # a status change: no text yet
        self.first_tokens_before_text = first_token_count(self.model)
        if self.fail:
            raise ModelUnavailableError("down")
        for delta in ("Hel", "lo"):
            sink.parts.append(delta)
            yield delta


async def drain(reply: ReplyStream) -> None:
    async with reply:
        async for _ in reply:
            pass


async def test_an_answer_is_in_flight_while_written_and_timed_by_its_model():
    engine = Engine("m-timed")
    before = (first_token_count("m-timed"), duration_count("m-timed"), in_flight())
    await drain(ReplyStream(engine, MESSAGE, False, None))  # type: ignore[arg-type]
    assert engine.in_flight_seen == before[2] + 1 and in_flight() == before[2]
    assert first_token_count("m-timed") == before[0] + 1
    assert duration_count("m-timed") == before[1] + 1


async def test_the_preface_and_status_wakes_are_not_the_first_token():
    engine = Engine("m-preface", preface="(I could not read a.pdf)\n")
    before = first_token_count("m-preface")
    await drain(ReplyStream(engine, MESSAGE, False, None))  # type: ignore[arg-type]
    # The preface and the "" had been yielded, and still nothing was observed then.
    assert engine.first_tokens_before_text == before
    assert first_token_count("m-preface") == before + 1


async def test_a_failed_answer_has_a_duration_and_leaves_the_flight():
    engine = Engine("m-failing", fail=True)
    before, flying = duration_count("m-failing"), in_flight()
    with pytest.raises(ModelUnavailableError):
        await drain(ReplyStream(engine, MESSAGE, False, None))  # type: ignore[arg-type]
    assert duration_count("m-failing") == before + 1 and first_token_count("m-failing") == 0
    assert in_flight() == flying


async def test_an_answer_its_reader_leaves_early_has_no_duration_and_leaves_the_flight():
    engine = Engine("m-left")
    before, flying = duration_count("m-left"), in_flight()
    async with ReplyStream(engine, MESSAGE, False, None) as reply:  # type: ignore[arg-type]
        async for delta in reply:
            if delta:
                break
    assert in_flight() == flying and duration_count("m-left") == before

