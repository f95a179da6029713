"""The message shortcuts: "Summarise thread" and "Ask about this message".

Chosen from a message's "…" menu, each is acknowledged with an ephemeral line only the
person who chose it sees, then answered in that message's thread through the answer
pipeline like any question: the question asks for a summary of the thread, or about the
message (quoted in it). The thread's earlier messages reach the model as for a mention
in a thread the bot has not answered before (the pipeline's thread source). Each use is
a question of its own (claimed by its ``trigger_id``), asked by whoever chose it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.common.pipeline import AnswerPipeline
from adapters.slack.errors import slack_error
from adapters.slack.events import ReplyTarget
from adapters.slack.replies import route_of
from core.types import ConversationRef, IncomingMessage

__all__ = ["ASK_ABOUT", "SHORTCUTS", "SUMMARISE", "Shortcut", "MessageShortcuts"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Shortcut:
    callback_id: str
    name: str  # as Slack lists it in the message menu (at most 25 characters)
    description: str
    question: str  # what the bot is asked; ``{text}`` is the message's text
    confirmation: str  # the ephemeral acknowledgement


SUMMARISE = Shortcut(
    "chatwright_summarise_thread", "Summarise thread", "Summarise this message's thread",
    "Summarise this thread: who said what, what was decided, and what is still open.\n\n"
    "(Asked from this message in it:)\n> {text}",
    "Summarising this thread…",
)
ASK_ABOUT = Shortcut(
    "chatwright_ask_about_message", "Ask about this message", "Explain or answer this message",
    "Tell me about this message: explain it, and answer it if it asks something.\n\n> {text}",
    "Looking at that message…",
)
SHORTCUTS = (SUMMARISE, ASK_ABOUT)


class MessageShortcuts:
    """The Bolt handlers of ``SHORTCUTS`` (one ``on_shortcut`` for both, by callback id)."""

    __slots__ = ("_client", "_pipeline")

    def __init__(self, client: AsyncWebClient, pipeline: AnswerPipeline) -> None:
        self._client = client
        self._pipeline = pipeline

    async def on_shortcut(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        shortcut = next((s for s in SHORTCUTS if s.callback_id == body.get("callback_id")), None)
        asked = _asked(body, shortcut) if shortcut is not None else None
        if shortcut is None or asked is None:
            log.debug("ignoring a shortcut payload without what it needs")
            return
        message, target = asked
        await self._confirm(message, target, shortcut.confirmation)
        await self._pipeline.accept(message, route_of(target))

    async def _confirm(self, message: IncomingMessage, target: ReplyTarget, text: str) -> None:
        try:
            await self._client.chat_postEphemeral(
                channel=target.channel, user=message.user_id, thread_ts=target.thread_ts, text=text)
        except SlackApiError as exc:  # the answer still comes
            log.info("could not confirm a shortcut to %s: %s", message.user_id, slack_error(exc))


def _asked(body: dict[str, Any], shortcut: Shortcut) -> tuple[IncomingMessage, ReplyTarget] | None:
    """The question a shortcut asks, and where to answer it; None if the payload lacks it."""
    channel, user, team = _id(body.get("channel")), _id(body.get("user")), _id(body.get("team"))
    picked = body.get("message")
    trigger = body.get("trigger_id")
    if not channel or not user or not isinstance(picked, dict) or not isinstance(trigger, str):
        return None
    ts = picked.get("ts")
    if not isinstance(ts, str) or not ts:
        return None
    root = picked.get("thread_ts") if isinstance(picked.get("thread_ts"), str) else ts
    is_dm = channel.startswith("D")  # a DM is one conversation, as with messages (events.py)
    conversation = ConversationRef("slack", team or str(body.get("team_id") or ""), channel, "" if is_dm else root)
    text = picked.get("text") if isinstance(picked.get("text"), str) else ""
    user_name = (body.get("user") or {}).get("name") or user
    message = IncomingMessage(
        conversation=conversation, user_id=user, user_name=str(user_name),
        text=shortcut.question.format(text=_quoted(text)), is_dm=is_dm,
        event_id=f"shortcut:{trigger}",
    )
    return message, ReplyTarget(channel, root)


def _quoted(text: str) -> str:
    """``text`` as a Slack quote, line by line ("(no text)" for a message of only files)."""
    return "\n> ".join(text.strip().splitlines()) if text.strip() else "(no text)"


def _id(entry: object) -> str:
    return str(entry.get("id") or "") if isinstance(entry, dict) else ""
