"""Code fences (```` ``` ```` and ``~~~``), the one place that knows how to find them:
splitting a long answer, closing a half-written block in a preview, and cutting a
native stream inside a block all ask here."""

from __future__ import annotations

__all__ = ["FENCES", "fence_of", "open_fence"]

FENCES = ("```", "~~~")


def fence_of(line: str) -> str | None:
    """The fence that ``line`` opens or closes (its run of backticks or tildes), or None."""
    stripped = line.strip()
    for fence in FENCES:
        if stripped.startswith(fence):
            return stripped[: len(stripped) - len(stripped.lstrip(fence[0]))]
    return None


def open_fence(text: str) -> str | None:
    """The opening line (e.g. ```` ```python ````) of a code block left open at the end of
    ``text``, or None when every block is closed."""
    opened: str | None = None
    for line in text.split("\n"):
        fence = fence_of(line)
        if fence is None:
            continue
        if opened is None:
            opened = line.strip()
        elif fence.startswith(opened[:3]):
            opened = None
    return opened
