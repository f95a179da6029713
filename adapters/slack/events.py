"""Event payload → decision: answer it (and how), or ignore it (and why). Pure functions.

The rules:
- DMs (``channel_type == "im"``): every message is answered; the DM is the conversation.
- ``app_mention`` in a channel: answered in a thread under the mention (that thread is
  the conversation), or in the channel when ``reply_in_thread`` is off.
- A plain ``message`` in a channel thread is a possible follow-up: answered only if the
  engine has history for that thread (the adapter checks; it keeps no state).
- The bot's own messages, other bots (configurable), edits, deletions and other subtypes
  are ignored. A channel ``message`` that mentions the bot is left to its ``app_mention``
  twin; the claim on ``channel:ts`` is the safety net that answers the pair once.
- An event with a field ``decide`` reads missing or of the wrong type is ignored too
  (``adapters/slack/fields.py``): it is signed, but nothing sensible can be answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NotRequired, TypedDict

from adapters.slack.config import SlackConfig
from adapters.slack.fields import is_id, is_optional_id, is_optional_text
from core.types import ConversationRef, IncomingMessage

__all__ = [
    "MessageEvent",
    "ReplyTarget",
    "Answer",
    "Ignore",
    "Decision",
    "decide",
    "strip_mention",
]

# Subtypes that are still a person writing something new; everything else (edits,
# deletions, joins, bot_message, …) is not a question for the bot.
_ANSWERABLE_SUBTYPES = frozenset({"file_share", "thread_broadcast"})
# The fields of ``MessageEvent`` that ``decide`` reads, by what each must be.
_REQUIRED_IDS = ("channel", "ts")
_OPTIONAL_IDS = ("user", "bot_id", "thread_ts")
_OPTIONAL_TEXTS = ("text", "subtype", "channel_type")


class MessageEvent(TypedDict):
    """The fields of an ``app_mention`` / ``message`` event that the adapter reads."""

    type: str
    channel: str
    ts: str
    text: NotRequired[str]
    user: NotRequired[str]
    bot_id: NotRequired[str]
    subtype: NotRequired[str]
    thread_ts: NotRequired[str]
    channel_type: NotRequired[str]
    team: NotRequired[str]


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Where the answer is posted: a channel, and a thread in it (None: the channel itself)."""

    channel: str
    thread_ts: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    message: IncomingMessage
    target: ReplyTarget
    # Durable dedupe key: the same Slack message can arrive as two events with
    # different event ids (app_mention + message), but its channel:ts is unique.
    claim_key: str
    # Answer only when the conversation already has history (thread follow-ups).
    needs_history: bool = False


@dataclass(frozen=True, slots=True)
class Ignore:
    reason: str


Decision = Answer | Ignore


def decide(event: MessageEvent, *, team_id: str, bot_user_id: str, config: SlackConfig) -> Decision:
    """What to do with one ``app_mention`` or ``message`` event."""
    skip = _malformed(event, team_id) or _skip_reason(event, bot_user_id, config)
    if skip:
        return Ignore(skip)
    text = strip_mention(event.get("text") or "", bot_user_id)
    if not text:
        return Ignore("no text")
    if event.get("channel_type") == "im":
        return _dm(event, team_id, text)
    if event["type"] == "app_mention":
        return _mention(event, team_id, text, config.reply_in_thread)
    return _channel_message(event, team_id, text, bot_user_id, config.reply_in_thread)


def strip_mention(text: str, bot_user_id: str) -> str:
    """The text without the bot's ``<@U…>`` mentions (with or without a ``|name``)."""
    if not bot_user_id:
        return text.strip()
    return re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", "", text).strip()


def _malformed(event: MessageEvent, team_id: str) -> str:
    """What is wrong with the fields ``decide`` reads ("" when nothing is)."""
    if not isinstance(event, dict):
        return "event is not an object"
    if not isinstance(event.get("type"), str):
        return "event without a type"
    for name in _REQUIRED_IDS:
        if not is_id(event.get(name)):
            return f"event without a valid {name}"
    for name in _OPTIONAL_IDS:
        if not is_optional_id(event.get(name)):
            return f"event whose {name} is not an id"
    for name in _OPTIONAL_TEXTS:
        if not is_optional_text(event.get(name)):
            return f"event whose {name} is not text"
    if not is_optional_id(team_id):
        return "event whose team is not an id"
    return ""


def _skip_reason(event: MessageEvent, bot_user_id: str, config: SlackConfig) -> str:
    subtype = event.get("subtype")
    if subtype and subtype not in _ANSWERABLE_SUBTYPES:
        return f"subtype {subtype}"
    if not event.get("user") and not event.get("bot_id"):
        return "no author"
    if event.get("user") == bot_user_id:
        return "own message"
    if event.get("bot_id") and config.ignore_other_bots:
        return "another bot"
    return ""


def _dm(event: MessageEvent, team_id: str, text: str) -> Answer:
    conversation = ConversationRef("slack", team_id, event["channel"], "")
    # A DM answer goes where the question was: in its thread if the user started one.
    target = ReplyTarget(event["channel"], event.get("thread_ts"))
    return Answer(_incoming(event, conversation, text, is_dm=True), target, _claim_key(event))


def _mention(event: MessageEvent, team_id: str, text: str, in_thread: bool) -> Answer:
    channel = event["channel"]
    thread = (event.get("thread_ts") or event["ts"]) if in_thread else ""
    conversation = ConversationRef("slack", team_id, channel, thread)
    target = ReplyTarget(channel, thread or None)
    return Answer(_incoming(event, conversation, text), target, _claim_key(event))


def _channel_message(
    event: MessageEvent, team_id: str, text: str, bot_user_id: str, in_thread: bool
) -> Decision:
    if f"<@{bot_user_id}" in (event.get("text") or ""):
        return Ignore("mention: answered as app_mention")
    thread = event.get("thread_ts")
    if not thread or not in_thread:
        return Ignore("channel message without mention")
    conversation = ConversationRef("slack", team_id, event["channel"], thread)
    target = ReplyTarget(event["channel"], thread)
    message = _incoming(event, conversation, text)
    return Answer(message, target, _claim_key(event), needs_history=True)


def _incoming(
    event: MessageEvent, conversation: ConversationRef, text: str, *, is_dm: bool = False
) -> IncomingMessage:
    user = event.get("user") or event.get("bot_id") or ""
    return IncomingMessage(
        conversation=conversation,
        user_id=user,
        user_name=user,
        text=text,
        is_dm=is_dm,
        event_id=_claim_key(event),
    )


def _claim_key(event: MessageEvent) -> str:
    return f"{event['channel']}:{event['ts']}"
