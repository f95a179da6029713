"""End to end: 👍/👎 under each finished answer; a click is stored, thanked and counted."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from adapters.slack.app import web_client
from adapters.slack.config import SlackConfig
from adapters.slack.events import ReplyTarget
from adapters.slack.feedback import FEEDBACK_ACTION, HELPFUL, THANKS, UNHELPFUL
from adapters.slack.replies import MESSAGE_LIMIT, SlackRenderers, route_of
from core.types import ChannelRef, ConversationRef, FeedbackTotals, IncomingMessage
from tests.adapters.slack.harness import mention, settled, slack_stack
from tests.fakes.openai_server import Answer, Fail
from tests.fakes.slack_api import FakeSlackAPI

pytestmark = pytest.mark.e2e

CHANNEL = ChannelRef("slack", "T1", "C1")


def _clicks(value: str) -> float:
    return REGISTRY.get_sample_value("chatwright_feedback_total", {"platform": "slack", "value": value}) or 0.0


def _buttons(blocks: list[dict]) -> dict:
    [actions] = [b for b in blocks if b["type"] == "context_actions"]
    [element] = actions["elements"]
    return element


async def test_a_finished_answer_carries_the_feedback_buttons_under_its_text(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(mention("hi", "800.000001"))
        [text] = await stack.answer_in("C1", "800.000001")
        [message] = stack.slack.thread("C1", "800.000001")
        assert message.blocks is not None
        sections = [b for b in message.blocks if b["type"] == "section"]
        # A message with blocks shows the blocks: the answer must be in them, whole.
        assert "".join(s["text"]["text"] for s in sections) == text
        buttons = _buttons(message.blocks)
        assert buttons["type"] == "feedback_buttons" and buttons["action_id"] == FEEDBACK_ACTION
        assert (buttons["positive_button"]["value"], buttons["negative_button"]["value"]) == (HELPFUL, UNHELPFUL)


async def test_only_the_last_part_of_a_long_answer_has_the_buttons(tmp_path):
    async with slack_stack(tmp_path) as stack:
        long = "\n\n".join(f"Paragraph {i}: " + "words " * 60 for i in range(30))
        assert len(long) > MESSAGE_LIMIT
        stack.model.script(Answer(long))
        await stack.send(mention("tell me a lot", "800.000002"))
        await settled(stack.adapter.pipeline)
        messages = stack.slack.thread("C1", "800.000002")
        assert len(messages) >= 2
        assert [m.blocks is not None for m in messages] == [False] * (len(messages) - 1) + [True]
        last_sections = [b["text"]["text"] for b in messages[-1].blocks if b["type"] == "section"]
        assert "\n".join(last_sections).replace("\n", "") == messages[-1].text.replace("\n", "")
        assert all(len(s) <= 3000 for s in last_sections)


async def test_a_failed_answer_has_no_buttons(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.model.script(Fail(503, body={"error": {"message": "overloaded"}}))
        await stack.send(mention("hi", "800.000003"))
        await stack.answer_in("C1", "800.000003")
        [message] = stack.slack.thread("C1", "800.000003")
        assert message.blocks is None


async def test_a_click_is_stored_thanked_counted_in_usage_and_metrics(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(mention("hi", "800.000004"))
        await stack.answer_in("C1", "800.000004")
        [answer] = stack.slack.thread("C1", "800.000004")
        helpful_before, unhelpful_before = _clicks(HELPFUL), _clicks(UNHELPFUL)
        sender = stack.sender
        for user, value in (("U2", HELPFUL), ("U3", UNHELPFUL), ("U2", HELPFUL)):
            click = sender.block_action(FEEDBACK_ACTION, value, channel="C1", message_ts=answer.ts, user=user,
                                        thread_ts="800.000004")
            assert (await sender.interaction(click)).status == 200
        # U2's second click replaces the first: one helpful, one unhelpful.
        assert await stack.engine.store.feedback_totals(CHANNEL) == FeedbackTotals(helpful=1, unhelpful=1)
        assert (_clicks(HELPFUL) - helpful_before, _clicks(UNHELPFUL) - unhelpful_before) == (2, 1)
        assert [(e["channel"], e["user"], e["thread_ts"], e["text"]) for e in stack.slack.ephemerals] == [
            ("C1", "U2", "800.000004", THANKS), ("C1", "U3", "800.000004", THANKS), ("C1", "U2", "800.000004", THANKS)]
        usage = (await sender.command("/usage", channel_id="C1")).json()
        assert "Feedback: 1 helpful, 1 unhelpful." in usage["text"]


async def test_usage_says_nothing_of_feedback_where_there_is_none(tmp_path):
    async with slack_stack(tmp_path) as stack:
        usage = (await stack.sender.command("/usage", channel_id="C9")).json()
        assert "tokens" in usage["text"] and "Feedback" not in usage["text"]


async def test_a_click_without_a_known_value_is_not_stored(tmp_path):
    async with slack_stack(tmp_path) as stack:
        click = stack.sender.block_action(FEEDBACK_ACTION, "maybe", channel="C1", message_ts="800.000005")
        assert (await stack.sender.interaction(click)).status == 200
        assert await stack.engine.store.feedback_totals(CHANNEL) == FeedbackTotals()
        assert stack.slack.ephemerals == []


async def test_a_native_stream_ends_with_the_buttons(tmp_path):
    async with slack_stack(tmp_path, slack_native_streaming=True) as stack:
        stack.model.script(Answer("Streamed.\n"))
        await stack.send(mention("hi", "800.000006"))
        await stack.slack.wait_for(lambda: [m for m in stack.slack.thread("C1", "800.000006") if not m.streaming],
                                   timeout=5)
        await settled(stack.adapter.pipeline)
        [stop] = stack.slack.calls_of("chat.stopStream")
        assert [b["type"] for b in stop.params["blocks"]] == ["context_actions"]
        [message] = stack.slack.thread("C1", "800.000006")
        assert message.text == "Streamed.\n" and _buttons(message.blocks)["action_id"] == FEEDBACK_ACTION


async def test_buttons_can_be_turned_off(tmp_path):
    async with FakeSlackAPI() as slack:
        config = SlackConfig(bot_token=slack.token, api_url=slack.base_url, feedback=False)

        async def persona(channel):
            raise LookupError("not needed")

        renderer = await SlackRenderers.of(web_client(config), config, persona)(
            IncomingMessage(ConversationRef("slack", "T1", "C1", ""), "U1", "U1", "hi", event_id="e"),
            route_of(ReplyTarget("C1", None)), False)
        [part] = renderer.parts("An answer.")
        await renderer.post(part, 0)
        [call] = slack.calls_of("chat.postMessage")
        assert call.params["text"] == "An answer." and "blocks" not in call.params


async def test_buttons_slack_refuses_give_way_to_the_text_alone_from_then_on(tmp_path, caplog):
    async with slack_stack(tmp_path) as stack:
        stack.slack.fail("chat.postMessage", status=200, error="invalid_blocks")
        await stack.send(mention("one", "800.000007"))
        [first] = await stack.answer_in("C1", "800.000007")
        await stack.send(mention("two", "800.000008"))
        await stack.answer_in("C1", "800.000008")
        await settled(stack.adapter.pipeline)
        calls = stack.slack.calls_of("chat.postMessage")
        # Refused with buttons, then sent without: the answer is not lost to them.
        assert ["blocks" in c.params for c in calls] == [True, False, False]
        assert stack.slack.thread("C1", "800.000007")[0].text == first
        refusals = [r for r in caplog.records if "refused the feedback buttons" in r.getMessage()]
        assert len(refusals) == 1
