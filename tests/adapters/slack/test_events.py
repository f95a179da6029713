"""Event payload → decision: pure, no I/O."""

from __future__ import annotations

import pytest

from adapters.slack.config import SlackConfig
from adapters.slack.events import Answer, Ignore, ReplyTarget, decide, strip_mention
from core.types import ConversationRef

CONFIG = SlackConfig(bot_token="xoxb-x")


def _decide(event, config=CONFIG):
    base = {"channel": "C1", "ts": "1.0001", "user": "U1", "text": "hi"}
    return decide({**base, **event}, team_id="T1", bot_user_id="UBOT", config=config)


def test_mention_opens_a_thread_conversation():
    decision = _decide({"type": "app_mention", "text": "<@UBOT> hi"})
    assert isinstance(decision, Answer)
    assert decision.message.conversation == ConversationRef("slack", "T1", "C1", "1.0001")
    assert decision.message.text == "hi"
    assert decision.target == ReplyTarget("C1", "1.0001")
    assert decision.claim_key == "C1:1.0001" and not decision.needs_history


def test_mention_inside_a_thread_stays_in_that_thread():
    decision = _decide({"type": "app_mention", "text": "<@UBOT> more", "ts": "1.0005", "thread_ts": "1.0001"})
    assert decision.target == ReplyTarget("C1", "1.0001")


def test_mention_without_threads_answers_in_the_channel():
    decision = _decide({"type": "app_mention", "text": "<@UBOT> hi"}, SlackConfig(bot_token="x", reply_in_thread=False))
    assert decision.message.conversation.thread == "" and decision.target == ReplyTarget("C1", None)


def test_dm_is_answered_and_is_its_own_conversation():
    decision = _decide({"type": "message", "channel": "D1", "channel_type": "im"})
    assert decision.message.is_dm and decision.message.conversation == ConversationRef("slack", "T1", "D1", "")


def test_thread_message_is_a_follow_up_that_needs_history():
    decision = _decide({"type": "message", "channel_type": "channel", "ts": "1.0002", "thread_ts": "1.0001"})
    assert isinstance(decision, Answer) and decision.needs_history


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "message", "channel_type": "channel"}, "channel message without mention"),
        ({"type": "message", "channel_type": "channel", "text": "<@UBOT> hi"}, "mention: answered as app_mention"),
        ({"type": "message", "channel_type": "im", "subtype": "message_changed"}, "subtype message_changed"),
        ({"type": "message", "channel_type": "im", "subtype": "message_deleted"}, "subtype message_deleted"),
        ({"type": "message", "channel_type": "im", "subtype": "bot_message", "bot_id": "B2"}, "subtype bot_message"),
        ({"type": "message", "channel_type": "im", "bot_id": "B2"}, "another bot"),
        ({"type": "message", "channel_type": "im", "user": "UBOT"}, "own message"),
        ({"type": "app_mention", "text": "<@UBOT>"}, "no text"),
    ],
)
def test_ignored(event, reason):
    assert _decide(event) == Ignore(reason)


def test_other_bots_can_be_answered_when_configured():
    config = SlackConfig(bot_token="x", ignore_other_bots=False)
    decision = _decide({"type": "message", "channel_type": "im", "bot_id": "B2", "user": "UB2"}, config)
    assert isinstance(decision, Answer)


def test_file_share_is_still_a_message():
    assert isinstance(_decide({"type": "message", "channel_type": "im", "subtype": "file_share"}), Answer)


def test_strip_mention_handles_labels():
    assert strip_mention("<@UBOT|bot> hello <@UBOT>", "UBOT") == "hello"
    assert strip_mention("<@UOTHER> hello", "UBOT") == "<@UOTHER> hello"
