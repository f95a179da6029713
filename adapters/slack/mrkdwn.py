"""Markdown (as models write it) → Slack mrkdwn.

The conversion itself is ``markdown-to-mrkdwn`` (bold, italics, strikethrough, links,
headings, lists, quotes, tables, code). Around it we do what it leaves to the caller:
escape ``& < >`` as Slack requires (which also keeps ``<!here>``/``<!channel>`` from
pinging anyone), drop code-fence languages (Slack would print them as code), and make
half-written Markdown safe to show while it streams.
"""

from __future__ import annotations

import re

from markdown_to_mrkdwn import SlackMarkdownConverter

from adapters.common.preview import preview as common_preview

__all__ = ["to_mrkdwn", "preview", "escape"]

_converter = SlackMarkdownConverter()
# A quote marker at the start of a line must stay a literal ">" for the converter.
_QUOTE_PREFIX = re.compile(r"^(\s*(?:>\s?)+)", re.MULTILINE)
_FENCE_LANGUAGE = re.compile(r"^(\s*```)[\w+#.-]+\s*$", re.MULTILINE)


def to_mrkdwn(markdown: str) -> str:
    """Slack mrkdwn for ``markdown``."""
    if not markdown.strip():
        return ""
    converted = _converter.convert(escape(markdown))
    return _FENCE_LANGUAGE.sub(r"\1", converted).strip()


def preview(markdown: str, limit: int) -> str:
    """What to show of an answer still being written (``adapters/common/preview``), in mrkdwn."""
    return to_mrkdwn(common_preview(markdown, limit))


def escape(markdown: str) -> str:
    """``& < >`` as Slack wants them, leaving quote markers at line starts alone."""
    return "\n".join(_escape_line(line) for line in markdown.split("\n"))


def _escape_line(line: str) -> str:
    match = _QUOTE_PREFIX.match(line)
    prefix = match.group(1) if match else ""
    rest = line[len(prefix):]
    return prefix + rest.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
