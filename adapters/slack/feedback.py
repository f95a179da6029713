"""👍/👎 under each finished answer, and what a click does.

The buttons are Slack's own for AI apps: a ``context_actions`` block holding a
``feedback_buttons`` element (the shape slack_sdk's ``ContextActionsBlock`` and
``FeedbackButtonsElement`` models describe). A message with blocks shows the blocks,
not its ``text``, so the answer's part goes in ``section`` blocks above the buttons
(``expand``: AI apps' long answers are not folded behind "see more") and stays the
``text`` for notifications. Only the last part of an answer carries them.

A click (``block_actions`` with ``FEEDBACK_ACTION``) is stored per answer message and
user (a second click replaces the first), counted in ``chatwright_feedback``, and
thanked with an ephemeral message only the clicker sees.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.common.splitting import split_message
from adapters.slack.errors import slack_error
from core import metrics
from core.engine import Engine
from core.types import ChannelRef, Feedback

__all__ = [
    "BLOCKS_REFUSED", "FEEDBACK_ACTION", "HELPFUL", "UNHELPFUL", "THANKS", "FeedbackButtons", "FeedbackHandler",
    "answer_blocks", "feedback_buttons",
]

log = logging.getLogger(__name__)

FEEDBACK_ACTION = "chatwright_feedback"
HELPFUL = "helpful"
UNHELPFUL = "unhelpful"
THANKS = "Thanks for the feedback."
# A section block's text holds at most 3,000 characters; a part (up to 3,800) takes two.
_SECTION_LIMIT = 3000
# What Slack answers a message whose blocks it will not show (say, a workspace or client
# without the feedback buttons): the answer is then sent as text alone.
BLOCKS_REFUSED = frozenset({"invalid_blocks", "invalid_blocks_format"})


class FeedbackButtons:
    """Whether answers carry the buttons: unless turned off (``SLACK_FEEDBACK``), until
    Slack refuses them once; then, for this process, answers go as text alone."""

    __slots__ = ("_on",)

    def __init__(self, on: bool = True) -> None:
        self._on = on

    @property
    def on(self) -> bool:
        return self._on

    def refused(self, error: str) -> None:
        if self._on:
            self._on = False
            log.warning("Slack refused the feedback buttons (%s); answers go without them from now on", error)


def answer_blocks(part: str) -> list[dict[str, Any]]:
    """The blocks of an answer's last message: its text, then the feedback buttons."""
    sections = [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}, "expand": True}
        for chunk in split_message(part, _SECTION_LIMIT)
    ]
    return [*sections, _BUTTONS]


def feedback_buttons() -> list[dict[str, Any]]:
    """The buttons alone (under a native stream, whose Markdown Slack keeps as it is)."""
    return [_BUTTONS]


def _button(label: str, value: str, description: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label, "emoji": True}, "value": value,
            "accessibility_label": description}


_BUTTONS: dict[str, Any] = {
    "type": "context_actions",
    "elements": [{
        "type": "feedback_buttons",
        "action_id": FEEDBACK_ACTION,
        "positive_button": _button("👍", HELPFUL, "This answer was helpful"),
        "negative_button": _button("👎", UNHELPFUL, "This answer was not helpful"),
    }],
}


class FeedbackHandler:
    """The Bolt handler of ``FEEDBACK_ACTION`` clicks."""

    __slots__ = ("_engine", "_client")

    def __init__(self, engine: Engine, client: AsyncWebClient) -> None:
        self._engine = engine
        self._client = client

    async def on_click(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        feedback = _feedback_in(body)
        if feedback is None:
            log.debug("ignoring a feedback click without channel, message, user or value")
            return
        await self._engine.store.record_feedback(feedback)
        metrics.FEEDBACK.labels("slack", HELPFUL if feedback.helpful else UNHELPFUL).inc()
        await self._thank(body, feedback)

    async def _thank(self, body: dict[str, Any], feedback: Feedback) -> None:
        thread = (body.get("message") or {}).get("thread_ts") or None
        try:
            await self._client.chat_postEphemeral(
                channel=feedback.channel.channel, user=feedback.user_id, thread_ts=thread, text=THANKS)
        except SlackApiError as exc:  # the click is stored; a thank-you is a nicety
            log.info("could not thank %s for feedback: %s", feedback.user_id, slack_error(exc))


def _feedback_in(body: dict[str, Any]) -> Feedback | None:
    """The click in a ``block_actions`` payload, or None if it lacks what is needed."""
    actions = body.get("actions") or [{}]
    value = actions[0].get("value") if isinstance(actions[0], dict) else None
    channel = _id(body.get("channel"))
    user = _id(body.get("user"))
    answer = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts")
    if value not in (HELPFUL, UNHELPFUL) or not channel or not user or not isinstance(answer, str):
        return None
    team = _id(body.get("team")) or str(body.get("team_id") or "")
    return Feedback(ChannelRef("slack", team, channel), answer, user, value == HELPFUL)


def _id(entry: object) -> str:
    return str(entry.get("id") or "") if isinstance(entry, dict) else ""
