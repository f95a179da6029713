"""What the stores write and read the same way: the clock and leases, the
keys of conversations and channels, personas as JSON in the audit log, and the results
of a batch in which only the first of a key counts."""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from core.types import ChannelRef, ConversationRef, Persona

__all__ = [
    "after", "channel_key", "conversation_key", "first_wins", "persona_from_json",
    "persona_to_json", "utc_now",
]

_Key = TypeVar("_Key", bound=Hashable)


def utc_now() -> datetime:
    return datetime.now(UTC)


def after(moment: datetime, seconds: float) -> datetime:
    return moment + timedelta(seconds=seconds)


def conversation_key(conversation: ConversationRef) -> tuple[str, str, str, str]:
    return (conversation.platform, conversation.workspace, conversation.channel,
            conversation.thread)


def channel_key(channel: ChannelRef) -> tuple[str, str, str]:
    return (channel.platform, channel.workspace, channel.channel)


def persona_to_json(persona: Persona | None) -> str | None:
    return None if persona is None else json.dumps(asdict(persona), sort_keys=True)


def persona_from_json(text: str | None) -> Persona | None:
    if text is None:
        return None
    data = json.loads(text)
    # Only known fields: an audit entry outlives the Persona shape it was written with.
    known = {field.name for field in fields(Persona)}
    return Persona(**{name: value for name, value in data.items() if name in known})


def first_wins(keys: list[_Key], done: set[_Key]) -> list[bool | Exception]:
    """Each caller's result, in order: True for the first of a key the statement wrote;
    False for the others, and for a repeat of the same key in the batch."""
    done = set(done)
    results: list[bool | Exception] = []
    for key in keys:
        results.append(key in done)
        done.discard(key)
    return results
