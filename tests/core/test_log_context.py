"""``core.log_context``: the event id of the answer being handled, on its lines only,
in the tasks and threads it starts too."""

from __future__ import annotations

import asyncio
import logging

from core.log_context import EventFields, answering, current_event, without_event


def fields(message: str = "x") -> dict[str, str]:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, None, None)
    EventFields().filter(record)
    return {key: getattr(record, key) for key in ("event_id", "platform") if hasattr(record, key)}


def test_a_line_outside_any_answer_has_no_event_fields():
    assert fields() == {}


def test_inside_an_answer_each_line_has_its_event_and_platform_and_after_none():
    with answering("slack", "Ev1"):
        assert fields() == {"event_id": "Ev1", "platform": "slack"}
    assert fields() == {} and current_event() is None


async def test_tasks_and_threads_started_by_an_answer_carry_its_event_and_answers_do_not_mix():
    async def spawned() -> dict[str, str]:
        await asyncio.sleep(0)
        return fields()

    async def answer(event_id: str, started: asyncio.Event, other: asyncio.Event) -> list[dict[str, str]]:
        with answering("discord", event_id):
            task = asyncio.create_task(spawned())  # the context is copied now
            started.set()
            await other.wait()  # both answers are in flight at once
            return [await task, await asyncio.to_thread(fields)]

    a, b = asyncio.Event(), asyncio.Event()
    first, second = await asyncio.gather(answer("E1", a, b), answer("E2", b, a))
    assert first == [{"event_id": "E1", "platform": "discord"}] * 2
    assert second == [{"event_id": "E2", "platform": "discord"}] * 2


async def test_a_shared_task_started_without_the_event_logs_none_though_started_in_an_answer():
    async def seen() -> dict[str, str]:
        return fields()

    with answering("slack", "Ev1"):
        detached = await asyncio.create_task(seen(), context=without_event())
        inherited = await asyncio.create_task(seen())
    assert detached == {} and inherited == {"event_id": "Ev1", "platform": "slack"}
