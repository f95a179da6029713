"""What to show of an answer still being written, on any platform."""

from __future__ import annotations

from adapters.common.fences import open_fence

__all__ = ["preview"]

_ELLIPSIS = "…"
# Room kept at a cut for the ellipsis and for closing an open code block.
_ROOM = 8


def preview(text: str, limit: int) -> str:
    """At most ``limit`` characters of ``text``, "…" where it was cut, and a code block
    left open closed for now (it would swallow the rest of the message)."""
    cut = len(text) > limit
    shown = text[: limit - _ROOM] if cut else text
    opened = open_fence(shown)
    if opened is not None:
        shown += "\n" + opened[:3]
    return shown + _ELLIPSIS if cut else shown
