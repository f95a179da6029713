"""Splitting long replies into messages under a platform's length limit.

Code blocks are kept whole when they fit in one message; a code block longer than the
limit is cut between lines and each part is closed and re-opened with the same fence
(and language), so every message renders on its own. Other text is cut between lines,
and a line longer than the limit between words.

Three promises, checked by property tests: every part is within the limit, every part's
code fences are balanced (a block left open at the end of the text is closed), and no
text is lost or reordered. A cut never starts a line with ```` ``` ```` or ``~~~``: such
a line would open or close a block that the text did not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain

from adapters.common.fences import FENCES, fence_of

__all__ = ["split_message"]

# Marks a cut that could not avoid starting a line with a fence (a line of nothing but
# backticks longer than the limit). Invisible, and enough to stop it reading as a fence.
_ZERO_WIDTH_SPACE = "\u200b"


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
    """Whole fenced code blocks (closed if the text left one open), and every other line
    on its own."""
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
        closer = [] if end < len(lines) else [fence]
        yield "\n".join([*lines[i : end + 1], *closer])
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
    opener, body = lines[0], lines[1:-1]  # ``_blocks`` closed every block
    if len(opener) > limit // 4:
        # Too long to repeat on every part, and too long to be a language tag: its text
        # becomes the first line of code, and the parts open with a bare fence.
        info = opener.strip()[len(fence) :]
        body = [info, *body] if info else body
        opener = fence = _shortest_fence(fence[0], body)
    room = limit - len(opener) - len(fence) - 2  # two newlines around the body
    if room < 1:  # fence runs of about half the limit inside the block: cut it as text
        return [piece for line in lines for piece in _split_words(line, limit)]
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


def _shortest_fence(char: str, body: list[str]) -> str:
    """The shortest fence of ``char`` that no line of ``body`` would close."""
    runs = (len(s) - len(s.lstrip(char)) for s in (line.strip() for line in body))
    return char * max(3, 1 + max(runs, default=0))


def _split_words(line: str, limit: int) -> list[str]:
    parts: list[str] = []
    while len(line) > limit:
        start = len(line) - len(line.lstrip(" "))
        spaces = (i for i in range(limit, start, -1) if line[i] == " ")
        cut = _safe_cut(line, chain(spaces, range(limit, 0, -1)))
        if cut is None:
            parts.append(line[:limit])
            line = _ZERO_WIDTH_SPACE + line[limit:]
            continue
        parts.append(line[:cut].rstrip())
        line = line[cut:].lstrip(" ")
    parts.append(line)
    return parts


def _hard_split(line: str, room: int) -> list[str]:
    # Inside code, spaces matter: cut at ``room`` characters, or a little before when
    # the next line would start with a fence.
    parts: list[str] = []
    while len(line) > room:
        cut = _safe_cut(line, range(room, 0, -1)) if room >= 3 else room
        if cut is None:
            parts.append(line[:room])
            line = _ZERO_WIDTH_SPACE + line[room:]
            continue
        parts.append(line[:cut])
        line = line[cut:]
    parts.append(line)
    return parts


def _safe_cut(line: str, candidates: Iterable[int]) -> int | None:
    """The first cut in ``candidates`` after which the rest of ``line`` does not start
    with a fence, or None."""
    for cut in candidates:
        if not line[cut : cut + 64].lstrip().startswith(FENCES):
            return cut
    return None
