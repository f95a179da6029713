"""End to end: signed events over HTTP into the real AsyncApp, answers on the fake Slack."""

from __future__ import annotations

import pytest

from tests.adapters.slack.harness import channel_message, dm, mention, settled, slack_stack
from tests.fakes.openai_server import Answer

pytestmark = pytest.mark.e2e


async def test_mention_is_answered_in_its_thread_after_a_fast_ack(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Answer("hello there", delay=0.9))
        sent = await stack.send(mention("hi", "100.000001"))
        assert sent.status == 200 and sent.elapsed < 1.0

        assert await stack.answer_in("C1", "100.000001") == ["hello there"]
        placeholder = stack.slack.thread("C1", "100.000001")[0]
        assert placeholder.history[0] == "_thinking…_"
        assert stack.model.requests[0]["messages"][-1] == {"role": "user", "content": "u1: hi"}


async def test_mention_arriving_also_as_message_is_answered_once(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(mention("hi", "100.000001"))
        await stack.send(channel_message("<@UBOT> hi", "100.000001"))
        await stack.answer_in("C1", "100.000001")
        await _sentinel(stack)
        assert stack.slack.bot_texts("C1", "100.000001") == ["echo: u1: hi"]
        assert len(stack.model.requests) == 2  # the mention and the sentinel


async def test_thread_follow_up_continues_without_a_mention(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(mention("my name is Ada", "100.000001"))
        await stack.answer_in("C1", "100.000001")
        await stack.send(channel_message("what is my name?", "100.000005", thread_ts="100.000001"))

        texts = await stack.answer_in("C1", "100.000001", count=2)
        assert texts[-1] == "echo: u1: what is my name?"
        contents = [m["content"] for m in stack.model.requests[-1]["messages"]]
        assert "u1: my name is Ada" in contents and "echo: u1: my name is Ada" in contents


async def test_thread_the_bot_never_answered_is_left_alone(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(channel_message("chatting among humans", "200.000002", thread_ts="200.000001"))
        await stack.send(channel_message("top level chatter", "200.000003"))
        await _sentinel(stack)
        assert stack.slack.bot_texts("C1", "200.000001") == []
        assert len(stack.model.requests) == 1


async def test_dm_is_answered_and_remembered(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(dm("remember 42", "300.000001"))
        await stack.answer_in("D1", None)
        await stack.send(dm("what number?", "300.000002"))

        assert await stack.answer_in("D1", None, count=2) == ["echo: remember 42", "echo: what number?"]
        contents = [m["content"] for m in stack.model.requests[-1]["messages"]]
        assert contents[-3:] == ["remember 42", "echo: remember 42", "what number?"]


async def test_reply_in_channel_when_threads_are_off(tmp_path):
    async with slack_stack(tmp_path, slack_reply_in_thread=False) as stack:
        await stack.send(mention("hi", "400.000001", channel="C4"))
        assert await stack.answer_in("C4", None) == ["echo: u1: hi"]
        assert stack.slack.thread("C4", "400.000001") == []


async def test_own_other_bots_edits_and_deletions_are_ignored(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(dm("from me", "500.000001", user="UBOT"))
        await stack.send({**dm("a bot", "500.000002"), "bot_id": "B9"})
        await stack.send({**dm("edited", "500.000003"), "subtype": "message_changed"})
        await stack.send({**dm("", "500.000004"), "subtype": "message_deleted"})
        await _sentinel(stack)
        assert stack.slack.bot_texts("D1") == []


async def _sentinel(stack) -> None:
    """Send one more DM and wait for its answer and for every task, so that the events
    sent before it have been fully handled (tasks start in the order events arrive)."""
    ts = stack.slack.new_ts()
    channel = f"DSENTINEL{ts}"
    await stack.send(dm("sentinel", ts, channel=channel))
    await stack.answer_in(channel, None)
    await settled(stack.adapter.pipeline)
