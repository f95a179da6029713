"""What the stores write and read the same way: the clock and leases, the
keys of conversations and channels, personas as JSON in the audit log, tool calls and
tool names as JSON, and the results of a batch in which only the first of a key counts."""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from core.types import ChannelRef, ConversationRef, FileRef, ImageRef, NewTurn, Persona, ToolCall, Usage

__all__ = [
    "after", "channel_key", "checked_keep", "conversation_key", "files_from_json",
    "files_to_json", "first_wins", "image_bytes", "images_from_json", "images_to_json",
    "persona_from_json", "persona_to_json", "texts_from_json", "texts_to_json",
    "tool_calls_from_json", "tool_calls_to_json", "tool_names_from_json", "tool_names_to_json",
    "tool_set_from_json", "tool_set_to_json", "usage_from_row", "usage_row", "utc_now",
]

_Key = TypeVar("_Key", bound=Hashable)
# A Persona's fields that hold tuples: JSON gives lists back.
_PERSONA_TUPLES = ("tools", "suggested_prompts", "loading_messages")


# Costs are stored in billionths of a dollar, as integers: sums of many small costs stay exact.
_NANO = 1_000_000_000


def usage_row(usage: Usage) -> tuple[int, int, int, int, int]:
    """A usage as the stores keep it: prompt, completion, cached, reasoning, cost (nano-USD)."""
    return (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens,
            usage.reasoning_tokens, round(usage.cost_usd * _NANO))


def usage_from_row(row: Iterable[int | None]) -> Usage:
    prompt, completion, cached, reasoning, cost = (int(value or 0) for value in row)
    return Usage(prompt, completion, cached, reasoning, cost / _NANO)


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
    persona = {name: value for name, value in data.items() if name in known}
    for name in _PERSONA_TUPLES:
        if persona.get(name) is not None:
            persona[name] = tuple(persona[name])  # JSON has lists; a Persona holds a tuple
    return Persona(**persona)


def first_wins(keys: list[_Key], done: set[_Key]) -> list[bool | Exception]:
    """Each caller's result, in order: True for the first of a key the statement wrote;
    False for the others, and for a repeat of the same key in the batch."""
    done = set(done)
    results: list[bool | Exception] = []
    for key in keys:
        results.append(key in done)
        done.discard(key)
    return results


def files_to_json(files: tuple[FileRef, ...]) -> str | None:
    """A message's files for its answer record; None (SQL NULL) for none, the usual case."""
    if not files:
        return None
    return json.dumps([asdict(file) for file in files], separators=(",", ":"))


def files_from_json(text: str | None) -> tuple[FileRef, ...]:
    if not text:
        return ()
    return tuple(FileRef(str(f["name"]), str(f["mime_type"]), int(f["size"]), str(f["url"]))
                 for f in json.loads(text))


def images_to_json(images: tuple[ImageRef, ...]) -> str | None:
    """A turn's image references; None (SQL NULL) for a turn without images."""
    if not images:
        return None
    return json.dumps([asdict(image) for image in images], separators=(",", ":"))


def images_from_json(text: str | None) -> tuple[ImageRef, ...]:
    if not text:
        return ()
    known = {field.name for field in fields(ImageRef)}
    return tuple(ImageRef(**{k: v for k, v in image.items() if k in known})
                 for image in json.loads(text))


def image_bytes(turn: NewTurn) -> tuple[bytes, ...]:
    """The turn's image bytes, checked against its references before anything is written:
    each is stored under its image's position in ``images``, and bytes are only ever
    kept beside references (the SQLite store's ``forget`` relies on it)."""
    if len(turn.image_data) != len(turn.images):
        raise ValueError(f"a turn with {len(turn.images)} images needs as many image_data, "
                         f"not {len(turn.image_data)}")
    return turn.image_data


def checked_keep(keep_user_turns: int) -> int:
    """``prune_images``' count, refused if negative (SQL would read it as "no limit")."""
    if keep_user_turns < 0:
        raise ValueError(f"keep_user_turns must be at least 0, not {keep_user_turns}")
    return keep_user_turns


def tool_calls_to_json(calls: tuple[ToolCall, ...]) -> str | None:
    """An assistant turn's tool calls; None (SQL NULL) for a turn without, the usual case.
    ASCII only: a NUL or a lone surrogate the model wrote is escaped, never stored raw."""
    if not calls:
        return None
    return json.dumps([{"id": call.id, "name": call.name, "arguments": call.arguments}
                       for call in calls], separators=(",", ":"))


def tool_calls_from_json(text: str | None) -> tuple[ToolCall, ...]:
    if not text:
        return ()
    return tuple(ToolCall(str(call["id"]), str(call["name"]), str(call["arguments"]))
                 for call in json.loads(text))


def tool_names_to_json(names: Iterable[str] | None) -> str | None:
    """Tool names as a JSON list, in the order given; None (not chosen) stays NULL."""
    return None if names is None else json.dumps(list(names), separators=(",", ":"))


def tool_names_from_json(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(str(name) for name in json.loads(text))


def texts_to_json(texts: tuple[str, ...]) -> str | None:
    """A persona's suggested prompts or loading messages; None (SQL NULL) for none, the
    usual case (and what a row written before these columns holds)."""
    return json.dumps(list(texts), separators=(",", ":")) if texts else None


def texts_from_json(text: str | None) -> tuple[str, ...]:
    return () if not text else tuple(str(item) for item in json.loads(text))


def tool_set_to_json(names: frozenset[str] | None) -> str | None:
    """A channel's enabled tools, sorted: the same set is always the same text."""
    return tool_names_to_json(None if names is None else sorted(names))


def tool_set_from_json(text: str | None) -> frozenset[str] | None:
    names = tool_names_from_json(text)
    return None if names is None else frozenset(names)
