"""An incremental Server-Sent-Events reader for the chat stream.

Bytes (or lines) go in, the ``data`` of each complete event comes out. It follows the
parsing rules of the HTML standard that matter for chat APIs: any of CRLF, LF or CR ends
a line, ``:`` starts a comment, several ``data:`` lines join with ``\\n``, and a blank line
ends an event. ``[DONE]`` is passed out as data; the caller decides what it means.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncIterable, AsyncIterator

__all__ = ["DONE", "SSEDecoder", "aiter_sse_batches"]

# The payload with which OpenAI-compatible servers end a chat stream.
DONE = "[DONE]"

# Only these end a line: ``str.splitlines`` would also split on U+2028 and friends, which
# JSON allows unescaped inside strings.
_LINE_END = re.compile(r"\r\n|\r|\n")


class SSEDecoder:
    """Turns a byte stream, fed in arbitrary pieces, into the data of each event."""

    __slots__ = ("_text", "_buffer", "_after_cr", "_data")

    def __init__(self) -> None:
        # "utf-8-sig" drops a leading byte-order mark, as the standard asks; the
        # incremental decoder keeps a character that is split across two chunks.
        self._text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._buffer = ""
        self._after_cr = False
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        """Feed the next bytes; return the data of every event they complete."""
        text = self._skip_lf_after_cr(self._text.decode(chunk))
        *lines, self._buffer = _LINE_END.split(self._buffer + text)
        return [data for line in lines if (data := self.feed_line(line)) is not None]

    def feed_line(self, line: str) -> str | None:
        """Feed one line without its line ending; return an event's data if it ends one."""
        if not line:
            return self._dispatch()
        name, _, value = line.partition(":")
        # A line starting with ":" is a comment (servers send them as keep-alives);
        # ``event``, ``id`` and ``retry`` carry nothing a chat stream needs.
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None

    def close(self) -> list[str]:
        """End of stream: return what is left.

        The standard drops an event that lacks its final blank line, but some servers
        end with ``data: [DONE]`` and no blank line; keeping it lets the caller tell such
        a stream from one that was really cut off.
        """
        text = self._buffer + self._text.decode(b"", final=True)
        self._buffer = ""
        lines = _LINE_END.split(text)
        found = [data for line in lines if (data := self.feed_line(line)) is not None]
        last = self._dispatch()
        return found if last is None else [*found, last]

    def _skip_lf_after_cr(self, text: str) -> str:
        # A CRLF split across two chunks must not count as two line endings.
        if not text:
            return text
        if self._after_cr and text[0] == "\n":
            text = text[1:]
        self._after_cr = text.endswith("\r")
        return text

    def _dispatch(self) -> str | None:
        if not self._data:
            return None
        data = "\n".join(self._data)
        self._data = []
        return data


async def aiter_sse_batches(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[str]]:
    """The data of the events in a byte stream: one list per chunk that completes any,
    and last what ``close`` finds at the end."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        if batch := decoder.feed(chunk):
            yield batch
    if batch := decoder.close():
        yield batch
