"""Splitting long replies into messages under a platform's length limit.

Code blocks are kept whole when they fit in one message; a code block longer than the
limit is cut between lines and each part is closed and re-opened with the same fence
(and language), so every message renders on its own. Other text is cut between lines,
and a line longer than the limit between words.
"""

from __future__ import annotations

from collections.abc import Iterator

from adapters.common.fences import fence_of

__all__ = ["split_message"]


def split_message(text: str, limit: int) -> list[str]:
    """Cut ``text`` into messages of at most ``limit`` characters; never returns empty parts."""
    if limit < 16:
        raise ValueError("limit must leave room for code fences")
    chunks: list[str] = []
    current = ""
    for block in _blocks(text):
        for piece in _fit(block, limit):
            if current and len(current) + 1 + len(piece) > limit:
                chunks.append(current)
                current = piece
            else:
                current = f"{current}\n{piece}" if current else piece
    chunks.append(current)
    return [chunk.strip("\n") for chunk in chunks if chunk.strip()]


def _blocks(text: str) -> Iterator[str]:
    """Whole fenced code blocks, and every other line on its own."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        fence = fence_of(lines[i])
        if fence is None:
            yield lines[i]
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        yield "\n".join(lines[i : end + 1])
        i = end + 1


def _fit(block: str, limit: int) -> list[str]:
    if len(block) <= limit:
        return [block]
    fence = fence_of(block.split("\n", 1)[0])
    if fence is None:
        return _split_words(block, limit)
    return _split_code(block, fence, limit)


def _split_code(block: str, fence: str, limit: int) -> list[str]:
    lines = block.split("\n")
    opener = lines[0]
    closed = len(lines) > 1 and lines[-1].strip().startswith(fence)
    body = lines[1:-1] if closed else lines[1:]
    room = limit - len(opener) - len(fence) - 2  # two newlines around the body
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in (piece for raw in body for piece in _hard_split(raw, room)):
        if current and size + 1 + len(line) > room:
            parts.append("\n".join([opener, *current, fence]))
            current, size = [], 0
        size += len(line) + (1 if current else 0)
        current.append(line)
    parts.append("\n".join([opener, *current, fence]))
    return parts


def _split_words(line: str, limit: int) -> list[str]:
    parts: list[str] = []
    while len(line) > limit:
        cut = line.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        parts.append(line[:cut].rstrip())
        line = line[cut:].lstrip(" ")
    parts.append(line)
    return parts


def _hard_split(line: str, room: int) -> list[str]:
    # Inside code, spaces matter: cut at exactly ``room`` characters.
    return [line[i : i + room] for i in range(0, len(line), room)] or [""]
