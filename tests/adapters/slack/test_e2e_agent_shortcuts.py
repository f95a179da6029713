"""End to end: the "Summarise thread" and "Ask about this message" message shortcuts."""

from __future__ import annotations

import pytest

from adapters.slack.shortcuts import ASK_ABOUT, SUMMARISE
from tests.adapters.slack.harness import settled, slack_stack

pytestmark = pytest.mark.e2e


def _user_text(request: dict) -> str:
    return [m for m in request["messages"] if m["role"] == "user"][-1]["content"]


async def test_summarise_thread_is_confirmed_privately_and_answered_in_the_thread(tmp_path):
    async with slack_stack(tmp_path) as stack:
        slack = stack.slack
        root = slack.add_message("C1", "Release plan for 2.0", user="U2")
        slack.add_message("C1", "QA is not done yet", user="U4", thread_ts=root)
        text = "Shall we ship on Friday?\nOr wait for QA?"
        picked_ts = slack.add_message("C1", text, user="U2", thread_ts=root)
        picked = {"type": "message", "user": "U2", "ts": picked_ts, "thread_ts": root, "text": text}
        payload = stack.sender.message_action(SUMMARISE.callback_id, channel="C1", message=picked, user="U3")
        assert (await stack.sender.interaction(payload)).status == 200
        [answer] = await stack.answer_in("C1", root)
        await settled(stack.adapter.pipeline)
        assert [(e["channel"], e["user"], e["thread_ts"], e["text"]) for e in slack.ephemerals] == [
            ("C1", "U3", root, SUMMARISE.confirmation)]
        request = stack.model.requests[-1]
        asked = _user_text(request)
        assert "Summarise this thread" in asked
        assert "> Shall we ship on Friday?\n> Or wait for QA?" in asked
        # The thread itself reached the model (read once through the thread source).
        said = "\n".join(str(m.get("content")) for m in request["messages"])
        assert "Release plan for 2.0" in said and "QA is not done yet" in said
        assert [c.params["ts"] for c in slack.calls_of("conversations.replies")] == [root]
        assert answer.startswith("echo: ")
        # Each use is a question of its own, asked by whoever chose the shortcut.
        again = stack.sender.message_action(SUMMARISE.callback_id, channel="C1", message=picked, user="U3")
        await stack.sender.interaction(again)
        await stack.answer_in("C1", root, count=2)
        assert len(slack.calls_of("conversations.replies")) == 1  # not read again


async def test_ask_about_a_top_level_message_answers_in_its_new_thread(tmp_path):
    async with slack_stack(tmp_path) as stack:
        picked = {"type": "message", "user": "U2", "ts": "951.000001", "text": "What does ERR_42 mean?"}
        payload = stack.sender.message_action(ASK_ABOUT.callback_id, channel="C1", message=picked)
        assert (await stack.sender.interaction(payload)).status == 200
        await stack.answer_in("C1", "951.000001")
        await settled(stack.adapter.pipeline)
        [ephemeral] = stack.slack.ephemerals
        confirmed = (ephemeral["user"], ephemeral["thread_ts"], ephemeral["text"])
        assert confirmed == ("U1", "951.000001", ASK_ABOUT.confirmation)
        assert "> What does ERR_42 mean?" in _user_text(stack.model.requests[-1])
        [post] = stack.slack.calls_of("chat.postMessage")
        assert (post.params["channel"], post.params["thread_ts"]) == ("C1", "951.000001")


async def test_a_shortcut_on_a_message_without_ts_is_acknowledged_and_ignored(tmp_path):
    async with slack_stack(tmp_path) as stack:
        payload = stack.sender.message_action(ASK_ABOUT.callback_id, channel="C1", message={"ts": ""})
        assert (await stack.sender.interaction(payload)).status == 200
        await settled(stack.adapter.pipeline)
        assert stack.slack.ephemerals == [] and stack.model.requests == []
