"""End to end: the "thinking" placeholder shows for slow answers only, and never holds
up the model."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from adapters.slack.replies import PLACEHOLDER_DELAY, THINKING
from tests.adapters.slack.harness import mention, slack_stack
from tests.fakes.openai_server import Answer, Fail

pytestmark = pytest.mark.e2e


async def test_quick_answer_is_posted_as_is_in_one_call(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(mention("hi", "900.000001"))
        assert await stack.answer_in("C1", "900.000001") == ["echo: u1: hi"]
        [message] = stack.slack.thread("C1", "900.000001")
        assert message.history == ["echo: u1: hi"]
        assert stack.slack.calls_of("chat.update") == []


async def test_quick_failure_is_posted_as_is(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Fail(503, body={"error": {"message": "overloaded"}}))
        await stack.send(mention("hi", "900.000002"))
        [text] = await stack.answer_in("C1", "900.000002")
        assert text.startswith(":warning: ")
        assert stack.slack.thread("C1", "900.000002")[0].history == [text]


async def test_answer_written_quickly_but_slow_to_store_is_posted_as_is(tmp_path, monkeypatch):
    async with slack_stack(tmp_path) as stack:
        store = stack.engine.store
        add_reply = store.add_reply

        async def slow_add_reply(*args, **kwargs):
            await asyncio.sleep(PLACEHOLDER_DELAY + 0.3)  # a store busy with a burst
            return await add_reply(*args, **kwargs)

        monkeypatch.setattr(store, "add_reply", slow_add_reply)
        await stack.send(mention("hi", "900.000008"))
        assert await stack.answer_in("C1", "900.000008") == ["echo: u1: hi"]
        # "Thinking" is for while the model writes: this one had finished.
        assert stack.slack.thread("C1", "900.000008")[0].history == ["echo: u1: hi"]
        assert stack.slack.calls_of("chat.update") == []


async def test_slow_answer_replaces_the_placeholder_in_one_edit(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Answer("slow answer", delay=0.9))
        await stack.send(mention("hi", "900.000003"))
        assert await stack.answer_in("C1", "900.000003") == ["slow answer"]
        assert stack.slack.thread("C1", "900.000003")[0].history == [THINKING, "slow answer"]
        assert len(stack.slack.calls_of("chat.update")) == 1


async def test_the_model_is_asked_without_waiting_for_the_placeholder(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Answer("slow answer", delay=0.9))
        # Slack holds the placeholder back for a second (429, Retry-After: 1)…
        stack.slack.fail("chat.postMessage", times=1, retry_after=1)
        await stack.send(mention("hi", "900.000004"))
        # …and the model is asked meanwhile, not after it.
        await stack.model.wait_for(lambda: stack.model.requests, timeout=0.8)
        assert await stack.answer_in("C1", "900.000004") == ["slow answer"]
        assert stack.slack.thread("C1", "900.000004")[0].history == [THINKING, "slow answer"]


async def test_answer_arriving_whole_after_a_long_wait_is_not_shown_in_part_first(tmp_path):
    async with slack_stack(tmp_path) as stack:
        # The first words come after the placeholder's first edit is allowed (1 s after it).
        stack.model.script(Answer("a slow but complete answer", delay=1.5))
        await stack.send(mention("hi", "900.000005"))
        assert await stack.answer_in("C1", "900.000005") == ["a slow but complete answer"]
        assert stack.slack.thread("C1", "900.000005")[0].history == [THINKING, "a slow but complete answer"]


async def test_answer_written_slowly_shows_progress_at_most_once_a_second(tmp_path):
    answer = " ".join(f"word{i}" for i in range(20))
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Answer(answer, chunk_size=6, chunk_delay=0.1))  # about 2.3 s
        await stack.send(mention("hi", "900.000006"))
        # answer_in would take the first progress edit for the answer: wait for the end.
        await stack.slack.wait_for(lambda: stack.slack.bot_texts("C1", "900.000006") == [answer], timeout=8)
        history = stack.slack.thread("C1", "900.000006")[0].history
        assert history[0] == THINKING and history[-1] == answer
        assert any(answer.startswith(shown) and shown != answer for shown in history[1:-1])
        updates = [call.at for call in stack.slack.calls_of("chat.update")]
        assert all(later - earlier >= 0.95 for earlier, later in itertools.pairwise(updates))


async def test_answer_is_posted_as_is_when_the_placeholder_could_not_be(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Answer("slow answer", delay=0.9))
        stack.slack.fail("chat.postMessage", times=1, status=500, error="fatal_error")
        await stack.send(mention("hi", "900.000007"))
        assert await stack.answer_in("C1", "900.000007") == ["slow answer"]
        assert stack.slack.thread("C1", "900.000007")[0].history == ["slow answer"]
        assert stack.model.requests  # the model was not held up by the failure either
