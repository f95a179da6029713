"""End to end with ``SLACK_NATIVE_STREAMING=true``: answers in threads stream through
``chat.startStream`` / ``appendStream`` / ``stopStream`` on the fake Slack Web API."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack.native_stream import STREAM_LIMIT
from adapters.slack.replies import MESSAGE_LIMIT
from tests.adapters.slack.harness import SlackStack, dm, mention, slack_stack
from tests.fakes.openai_server import Answer, Fail

pytestmark = pytest.mark.e2e


def native(tmp_path: Any) -> Any:
    return slack_stack(tmp_path, slack_native_streaming=True)


async def finished_thread(stack: SlackStack, channel: str, thread_ts: str, count: int = 1) -> list[Any]:
    """The bot's messages in the thread once ``count`` exist and none is still streaming."""
    def done() -> list[Any] | None:
        mine = [m for m in stack.slack.thread(channel, thread_ts) if m.user == stack.slack.bot_user_id]
        return mine if len(mine) >= count and not any(m.streaming for m in mine) else None

    return await stack.slack.wait_for(done, timeout=10)


async def test_an_answer_in_a_thread_is_streamed_natively_as_markdown(tmp_path):
    answer = "# Plan\n**bold** and `code`\n" + "".join(f"line {i}\n" for i in range(30))
    async with native(tmp_path) as stack:
        stack.model.script(Answer(answer, chunk_size=20, chunk_delay=0.1))
        await stack.send(mention("plan it", "900.000001", user="U7"))

        [message] = await finished_thread(stack, "C1", "900.000001")

        assert message.text == answer  # Slack renders the Markdown itself: no conversion
        [start] = stack.slack.calls_of("chat.startStream")
        assert start.params["thread_ts"] == "900.000001"
        assert (start.params["recipient_user_id"], start.params["recipient_team_id"]) == ("U7", "T1")
        appends = stack.slack.calls_of("chat.appendStream")
        assert appends, "a slow answer grows while the model writes"
        assert all(call.params["markdown_text"].endswith("\n") for call in appends)  # whole lines
        assert len(stack.slack.calls_of("chat.stopStream")) == 1
        assert not stack.slack.calls_of("chat.postMessage") and not stack.slack.calls_of("chat.update")


async def test_memory_continues_through_streamed_answers(tmp_path):
    async with native(tmp_path) as stack:
        stack.model.script(Answer("first answer"), Answer("second answer"))
        await stack.send(mention("one", "910.000001"))
        await finished_thread(stack, "C1", "910.000001")
        await stack.send(mention("two", "910.000002", thread_ts="910.000001"))

        texts = [m.text for m in await finished_thread(stack, "C1", "910.000001", count=2)]

        assert texts == ["first answer", "second answer"]
        sent = stack.model.requests[-1]["messages"]
        assert [m["content"] for m in sent if m["role"] == "assistant"] == ["first answer"]


async def test_an_answer_longer_than_one_stream_goes_on_in_messages_with_code_intact(tmp_path):
    code = "```python\n" + "".join(f"print('line {i}')\n" for i in range(900)) + "```\n"
    answer = "Intro\n" + code + "".join(f"outro {i}\n" for i in range(50))
    assert len(answer) > STREAM_LIMIT
    async with native(tmp_path) as stack:
        stack.model.script(Answer(answer, chunk_size=3000))
        await stack.send(mention("long", "920.000001"))

        await stack.slack.wait_for(lambda: any("outro 49" in t for t in stack.slack.bot_texts("C1", "920.000001")))
        messages = await finished_thread(stack, "C1", "920.000001", count=2)

        streamed, posted = messages[0], messages[1:]
        assert len(streamed.text) <= STREAM_LIMIT
        assert streamed.text.count("```") == 2  # the cut code block is closed in the stream
        assert all(len(m.text) <= MESSAGE_LIMIT for m in posted)
        assert posted[0].text.startswith("```\n")  # and re-opened where it goes on (mrkdwn has no language tag)
        everything = streamed.text + "".join(m.text for m in posted)
        assert all(f"print('line {i}')" in everything for i in (0, 450, 899))
        assert "outro 49" in posted[-1].text


async def test_a_model_failure_ends_the_stream_with_a_friendly_message(tmp_path):
    async with native(tmp_path) as stack:
        stack.model.script(Fail(503, body={"error": {"message": "overloaded"}}))
        await stack.send(mention("hi", "930.000001"))

        [message] = await finished_thread(stack, "C1", "930.000001")

        assert message.text.startswith(":warning: ")
        assert "unavailable" in message.text and "Traceback" not in message.text


async def test_when_slack_refuses_to_stream_answers_fall_back_to_edited_messages(tmp_path):
    async with native(tmp_path) as stack:
        stack.slack.fail("chat.startStream", status=200, error="not_allowed")
        stack.model.script(Answer("plain **answer**"), Answer("second"))
        await stack.send(mention("hi", "940.000001"))
        assert await stack.answer_in("C1", "940.000001") == ["plain *answer*"]  # mrkdwn

        await stack.send(mention("again", "940.000002", channel="C2"))
        assert await stack.answer_in("C2", "940.000002") == ["second"]

        # Refused once, not asked again for every answer.
        assert len(stack.slack.calls_of("chat.startStream")) == 1


async def test_dms_are_answered_in_the_dm_not_streamed(tmp_path):
    # Native streams are thread replies; a DM is answered in the DM itself.
    async with native(tmp_path) as stack:
        stack.model.script(Answer("hello"))
        await stack.send(dm("hi", "950.000001"))

        assert await stack.answer_in("D1", None) == ["hello"]
        assert not stack.slack.calls_of("chat.startStream")


async def test_without_the_setting_nothing_is_streamed_natively(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Answer("hello"))
        await stack.send(mention("hi", "960.000001"))

        assert await stack.answer_in("C1", "960.000001") == ["hello"]
        assert not stack.slack.calls_of("chat.startStream")
