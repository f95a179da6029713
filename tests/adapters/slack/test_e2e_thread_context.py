"""End to end: the bot mentioned in a Slack thread it has never seen reads the thread once,
with people's names; later messages of the thread read nothing from Slack again."""

from __future__ import annotations

import pytest

from adapters.slack.thread_context import SlackThreadSource
from core.types import ConversationRef, IncomingMessage
from tests.adapters.slack.harness import channel_message, mention, slack_stack

pytestmark = pytest.mark.e2e

PROFILES = {
    "UADA": {"display_name": "Ada", "real_name": "Ada Lovelace"},
    "UGRACE": {"display_name": "", "real_name": "Grace Hopper"},
    "ULIN": {"display_name": "Lin"},
}


def seed_thread(slack) -> tuple[str, dict]:
    """A thread of three people (one shares a file) and one earlier answer of the bot."""
    slack.profiles.update(PROFILES)
    log = slack.add_file("deploy.log", b"ERROR: signing key expired", "text/plain")
    parent = slack.add_message("C1", "the deploy failed", user="UADA")
    slack.add_message("C1", "logs attached", user="UGRACE", thread_ts=parent, files=[log], subtype="file_share")
    slack.add_message("C1", "Lin joined", user="ULIN", thread_ts=parent, subtype="channel_join")
    slack.add_message("C1", "Looking at it.", user="UBOT", thread_ts=parent)
    slack.add_message("C1", "<@UADA> it was the key, I think", user="ULIN", thread_ts=parent)
    return parent, log


async def test_the_first_mention_reads_the_thread_with_names_and_the_next_message_does_not(tmp_path):
    async with slack_stack(tmp_path) as stack:
        parent, log = seed_thread(stack.slack)

        await stack.send(mention("summarise this", stack.slack.new_ts(), user="UGRACE", thread_ts=parent))
        await stack.answer_in("C1", parent, count=2)

        messages = stack.model.requests[0]["messages"]
        said = [(m["role"], m["content"] if isinstance(m["content"], str) else m["content"][0]["text"])
                for m in messages if m["role"] != "system"]
        assert said[0] == ("user", "Ada: the deploy failed")
        assert said[1][0] == "user" and said[1][1].startswith("Grace Hopper: logs attached")
        assert "ERROR: signing key expired" in said[1][1]  # the file was read
        assert said[2:] == [
            ("assistant", "Looking at it."),
            ("user", "Lin: @Ada it was the key, I think"),
            ("user", "Grace Hopper: summarise this"),
        ]
        assert len(stack.slack.downloads_of(log)) == 1
        [replies] = stack.slack.calls_of("conversations.replies")
        assert replies.params["ts"] == parent

        # A follow-up in the same thread: the thread is in memory, Slack is not asked again.
        await stack.send(channel_message("and now?", stack.slack.new_ts(), user="ULIN", thread_ts=parent))
        await stack.answer_in("C1", parent, count=3)
        assert len(stack.slack.calls_of("conversations.replies")) == 1
        follow_up = [m["content"] for m in stack.model.requests[1]["messages"]]
        assert follow_up[-1] == "Lin: and now?" and "Ada: the deploy failed" in follow_up
        # Each person was looked up once, for the thread and the questions alike.
        looked_up = [call.params["user"] for call in stack.slack.calls_of("users.info")]
        assert sorted(set(looked_up)) == sorted(looked_up)


async def test_a_top_level_mention_reads_nothing(tmp_path):
    async with slack_stack(tmp_path) as stack:
        await stack.send(mention("hello", "100.000001"))
        await stack.answer_in("C1", "100.000001")
        assert stack.slack.calls_of("conversations.replies") == []


async def test_a_long_thread_is_read_page_by_page_and_only_before_the_question(tmp_path):
    async with slack_stack(tmp_path) as stack:
        stack.slack.profiles.update(PROFILES)
        parent = stack.slack.add_message("C1", "m0", user="UADA")
        for n in range(1, 7):
            stack.slack.add_message("C1", f"m{n}", user="ULIN" if n % 2 else "UADA", thread_ts=parent)
        question_ts = stack.slack.new_ts()
        stack.slack.add_message("C1", "after the question", user="UADA", thread_ts=parent)
        source = SlackThreadSource(stack.adapter.client, stack.adapter.names, stack.adapter._authorize.identity,
                                   page_size=2)
        message = IncomingMessage(ConversationRef("slack", "T1", "C1", parent), "UGRACE", "Grace", "q",
                                  event_id=f"C1:{question_ts}")

        earlier = await source.earlier(message, 5)

        assert [(m.author_name, m.text) for m in earlier] == [
            ("Ada", "m2"), ("Lin", "m3"), ("Ada", "m4"), ("Lin", "m5"), ("Ada", "m6")]
        calls = stack.slack.calls_of("conversations.replies")
        assert len(calls) == 4 and [c.params.get("cursor") for c in calls][1:] == ["2", "4", "6"]
        assert all(c.params["latest"] == question_ts for c in calls)
