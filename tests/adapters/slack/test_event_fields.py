"""Signed payloads with fields missing or of the wrong type: ignored, never raised on.

``decide`` (events) and ``command_problem`` (slash commands) are pure; the end-to-end
table is in ``test_http_guard.py``.
"""

from __future__ import annotations

import pytest

from adapters.slack.commands import command_problem, command_request
from adapters.slack.config import SlackConfig
from adapters.slack.events import Answer, Ignore, decide

CONFIG = SlackConfig(bot_token="xoxb-x")
MENTION = {"type": "app_mention", "channel": "C1", "ts": "1.0001", "user": "U1", "text": "<@UBOT> hi"}
DELETED = object()

BROKEN_EVENTS = {
    "no channel": {"channel": DELETED},
    "no ts": {"ts": DELETED},
    "no type": {"type": DELETED},
    "text null": {"text": None},
    "text a number": {"text": 42},
    "user an object": {"user": {"id": "U1"}},
    "bot_id a list": {"user": None, "bot_id": ["B1"]},
    "thread_ts a list": {"thread_ts": ["1.0001"]},
    "channel a number": {"channel": 12},
    "ts empty": {"ts": ""},
    "channel_type an object": {"channel_type": {"im": True}},
    "subtype a list": {"subtype": ["file_share"]},
    "channel with a lone surrogate": {"channel": "C\ud800"},
}


def broken(change: dict[str, object]) -> dict[str, object]:
    event = {**MENTION, **change}
    return {name: value for name, value in event.items() if value is not DELETED}


@pytest.mark.parametrize("change", BROKEN_EVENTS.values(), ids=BROKEN_EVENTS.keys())
@pytest.mark.parametrize("kind", ["app_mention", "message_im"])
def test_an_event_with_a_broken_field_is_ignored(change, kind):
    event = broken(change)
    if kind == "message_im" and "type" in event:
        event |= {"type": "message", "channel_type": event.get("channel_type", "im")}
    decision = decide(event, team_id="T1", bot_user_id="UBOT", config=CONFIG)  # type: ignore[arg-type]
    assert isinstance(decision, Ignore) and decision.reason


def test_an_event_that_is_not_an_object_or_a_team_that_is_not_an_id_is_ignored():
    assert isinstance(decide(["x"], team_id="T1", bot_user_id="UBOT", config=CONFIG), Ignore)  # type: ignore[arg-type]
    assert isinstance(decide(MENTION, team_id=["T1"], bot_user_id="UBOT", config=CONFIG), Ignore)  # type: ignore[arg-type]


def test_absent_optional_fields_still_answer():
    event = {**MENTION, "thread_ts": None, "subtype": None, "bot_id": ""}
    decision = decide(event, team_id="", bot_user_id="UBOT", config=CONFIG)  # type: ignore[arg-type]
    assert isinstance(decision, Answer) and decision.message.text == "hi"


def test_lone_surrogates_in_the_text_are_answered_replaced():
    decision = decide({**MENTION, "text": "<@UBOT> what is \ud800?"}, team_id="T1", bot_user_id="UBOT", config=CONFIG)
    assert isinstance(decision, Answer) and decision.message.text == "what is \ufffd?"


# -- slash commands ----------------------------------------------------------------------------

COMMAND = {"command": "/forget", "text": "", "user_id": "U1", "user_name": "u1", "channel_id": "C1", "team_id": "T1"}


@pytest.mark.parametrize(
    "change",
    [{"user_id": DELETED}, {"channel_id": DELETED}, {"team_id": DELETED}, {"user_id": {"id": "U1"}},
     {"channel_id": ["C1"]}, {"team_id": ""}, {"text": ["x"]}, {"user_name": 5}, {"command": None}],
)
def test_a_slash_command_with_a_broken_field_has_a_problem(change):
    payload = {name: value for name, value in {**COMMAND, **change}.items() if value is not DELETED}
    assert command_problem(payload)


def test_a_whole_slash_command_has_none_and_null_text_reads_as_empty():
    assert command_problem(COMMAND) == ""
    request = command_request({**COMMAND, "text": None, "user_name": None}, is_admin=False)  # type: ignore[typeddict-item]
    assert request.args == "" and request.user_name == "U1" and request.name == "forget"
