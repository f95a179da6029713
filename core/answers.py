"""The durable record of one answer: from the claim of a platform event to its delivery.

Every message the bot answers gets one ``AnswerRecord`` in the store, keyed by
``(platform, event_id)``. Its life::

    answering ──(the platform accepted the final message)──► delivered
        │    ╲
        │     ╲─(the user was told it failed)──────────────► failed
        │
        └── held by one ``owner`` (a process) while its lease runs; the owner renews the
            lease while it works. A record whose lease has run out (the owner crashed,
            or let it go at shutdown) is taken over by whoever finds it: a restarted
            bot, another replica, or Slack's retry of the same event.

"Received" and "answering" are one step: the process that records an event starts
answering it at once, so the record is created as answering, with its lease.

``Delivery`` is what the platform already shows of the answer, so that a resumed or
retried delivery edits the messages already posted and never posts a part twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from core.types import ConversationRef, IncomingMessage

__all__ = [
    "ANSWER_STATES", "AnswerKey", "AnswerRecord", "AnswerState", "Delivery", "Route",
    "route_from_json", "route_to_json",
]

AnswerState = Literal["answering", "delivered", "failed"]
ANSWER_STATES: tuple[AnswerState, ...] = ("answering", "delivered", "failed")

# (platform, event_id): the key of an answer record.
AnswerKey = tuple[str, str]
# Where the adapter posts the answer: platform ids only (a Slack channel and thread, a
# Discord channel and the message replied to), so it survives a restart as JSON.
Route = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Delivery:
    """The platform messages of an answer, in order, and how many show their final text.

    ``messages[i]`` shows part ``i`` of the answer once ``i < final``; before that it is a
    placeholder or a preview (the answer as it was being written), to be edited.
    """

    messages: tuple[str, ...] = ()
    final: int = 0

    def to_json(self) -> str:
        return json.dumps({"messages": list(self.messages), "final": self.final}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> Delivery:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(tuple(str(m) for m in data.get("messages", ())), int(data.get("final", 0)))

    def with_message(self, index: int, message_id: str) -> Delivery:
        """``message_id`` as the message of part ``index`` (a new one appended, or a
        replacement for one that could not be edited)."""
        messages = list(self.messages)
        if index < len(messages):
            messages[index] = message_id
        else:
            messages.append(message_id)
        return Delivery(tuple(messages), self.final)

    def with_final(self, count: int) -> Delivery:
        return Delivery(self.messages, max(self.final, count))


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """One answer as stored: the question (``message``), where it goes, and how far it got."""

    message: IncomingMessage
    route: Route = field(compare=False)
    state: AnswerState
    owner: str
    # How many times the answer was taken: 1 for the first, +1 for each takeover.
    attempts: int
    delivery: Delivery
    created_at: datetime

    @property
    def key(self) -> AnswerKey:
        return (self.message.conversation.platform, self.message.event_id)

    @property
    def conversation(self) -> ConversationRef:
        return self.message.conversation


def route_to_json(route: Route) -> str:
    return json.dumps(dict(route), sort_keys=True, separators=(",", ":"))


def route_from_json(text: str) -> dict[str, str]:
    data = json.loads(text) if text else {}
    return {str(k): str(v) for k, v in data.items() if v is not None}
