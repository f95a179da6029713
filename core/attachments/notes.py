"""The words: notes that name a file to the model, notices that tell the user."""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.attachments.limits import AttachmentLimits
from core.attachments.types import Notice, NoticeKind

__all__ = [
    "display_name",
    "human_size",
    "file_header",
    "unreadable_note",
    "image_note",
    "left_out_note",
    "notices",
]

_NAME_MAX = 100
_NAMES_SHOWN = 5
# Newlines and other controls would break a note's line; a backtick, our fences.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f`]+")


def display_name(name: str) -> str:
    """A file name safe to put on one line of a note: no controls, no backticks, short."""
    name = " ".join(_UNSAFE.sub(" ", name).split())
    if len(name) > _NAME_MAX:
        name = name[: _NAME_MAX - 1] + "…"
    return name or "unnamed file"


def human_size(size: int) -> str:
    """``size`` bytes for people: "512 B", "1.5 KiB", "20 MiB"."""
    if size < 1024:
        return f"{size} B"
    amount = size / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            break
        amount /= 1024
    return f"{amount:.1f} {unit}" if amount < 10 else f"{amount:,.0f} {unit}"


def file_header(name: str, description: str) -> str:
    """The line before a file's fenced text: "[file: notes.md, text, 2.1 KiB]"."""
    return f"[file: {name}, {description}]"


def unreadable_note(name: str, mime_type: str, size: int, reason: str = "") -> str:
    """The note for a file not shown: "[file: a.zip, application/zip, 3 MiB — not readable]"."""
    why = f": {reason}" if reason else ""
    return f"[file: {name}, {mime_type}, {human_size(size)} — not readable{why}]"


def image_note(name: str, width: int, height: int) -> str:
    """An image described to a model that cannot see: "[image: photo.png, 1920×1080]"."""
    return f"[image: {name}, {width}×{height}]"


def left_out_note(name: str, limit: int) -> str:
    return f"[file: {name} — not read: over the limit of {limit} files a message]"


def notices(
    events: Iterable[tuple[NoticeKind, str]], limits: AttachmentLimits
) -> tuple[Notice, ...]:
    """One notice for each kind of event, naming every file it concerns, in event order."""
    items: dict[NoticeKind, list[str]] = {}
    for kind, item in events:
        items.setdefault(kind, []).append(item)
    return tuple(
        Notice(kind, _TEXTS[kind](limits, _listed(kind, names))) for kind, names in items.items()
    )


def _listed(kind: NoticeKind, names: list[str]) -> str:
    shown = names[:_NAMES_SHOWN]
    if len(names) > _NAMES_SHOWN:
        shown.append(f"and {len(names) - _NAMES_SHOWN} more")
    # A refusal carries its reason in brackets, which commas would make hard to read.
    return ("; " if kind is NoticeKind.REFUSED else ", ").join(shown)


_TEXTS = {
    NoticeKind.TOO_MANY: lambda limits, listed: (
        f"I read only the first {limits.max_per_message} files of a message, not: {listed}."
    ),
    NoticeKind.TOO_LARGE: lambda limits, listed: (
        f"I don't read files over {human_size(limits.max_bytes)}: {listed}."
    ),
    NoticeKind.NOT_READABLE: lambda limits, listed: (
        f"I can only see the name, type and size of: {listed}."
    ),
    NoticeKind.REFUSED: lambda limits, listed: f"I couldn't read {listed}.",
    NoticeKind.NO_VISION: lambda limits, listed: (
        f"The model here can't see images, only their names and sizes: {listed}."
    ),
    NoticeKind.TRUNCATED: lambda limits, listed: (
        f"Only the start of these files fit into the model's context: {listed}."
    ),
}
