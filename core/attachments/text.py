"""Text for the model: decoded and cleaned, cut to a limit, fenced with its file's name."""

from __future__ import annotations

import re

__all__ = ["clean", "decode", "cut", "fence", "truncation_note"]

# A terminal colour or cursor sequence (CSI), common in logs: noise to the model.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# Control characters besides tab, newline, vertical tab and form feed. NUL in particular
# cannot be stored (PostgreSQL text) and none of them means anything to the model.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_BACKTICKS = re.compile(r"`+")
# A cut moves back to the end of a line if one is this close, so no line is half shown.
_LINE_SLACK = 200


def decode(data: bytes, encoding: str) -> str:
    """``data`` as clean text; undecodable bytes become U+FFFD, never an error."""
    return clean(data.decode(encoding, errors="replace"))


def clean(text: str) -> str:
    """``text`` with "\\n" line ends, no colour codes and no control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("\ufffd", _ANSI.sub("", text))


def cut(text: str, limit: int) -> str:
    """At most ``limit`` characters of ``text``, ending at a line end when one is close."""
    if len(text) <= limit:
        return text
    line_end = text.rfind("\n", limit - min(_LINE_SLACK, limit // 4), limit)
    return text[: line_end + 1 if line_end >= 0 else limit]


def fence(body: str) -> str:
    """``body`` in a code fence longer than any run of backticks inside it.

    A Markdown file with fences of its own then cannot close ours early.
    """
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=0)
    ticks = "`" * max(3, longest + 1)
    body = body.removesuffix("\n")
    return f"{ticks}\n{body}\n{ticks}"


def truncation_note(shown: int, total: int, *, also: str = "") -> str:
    """The visible note after a cut file: "[… truncated: 1,000 of 9,000 characters shown]"."""
    facts = [f"{shown:,} of {total:,} characters shown"] if shown < total else []
    if also:
        facts.append(also)
    return f"[… truncated: {'; '.join(facts)}]"
