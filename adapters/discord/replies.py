"""Writing an answer into a channel: one message edited as the model streams, then split.

While the model writes, one message shows the text so far (cut at Discord's limit) and
is edited at most once per interval; a 429 on an edit pushes the next edit back by its
``retry_after``. At the end the text is split at 2,000 characters without breaking code
blocks or words: the first part is the last edit, the rest are new messages.

Every send and edit carries ``AllowedMentions.none()``: model output never pings anyone.
"""

from __future__ import annotations

import discord

from adapters.common.splitting import split_message
from adapters.common.throttle import EditRateLimited, ThrottledEditor
from adapters.discord.config import MESSAGE_LIMIT
from core.engine import Engine
from core.errors import ChatwrightError, user_message
from core.model.retry import parse_retry_after
from core.types import IncomingMessage

__all__ = ["NO_MENTIONS", "StreamingReply", "preview", "write_answer"]

NO_MENTIONS = discord.AllowedMentions.none()
_ELLIPSIS = "…"
_EMPTY_ANSWER = "(The model sent an empty answer.)"
# Discord's 429 body has retry_after; when only the status got through, wait this long.
_DEFAULT_RETRY_AFTER = 1.0


def preview(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """The text while it streams: what fits in one message, marked when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - len(_ELLIPSIS)] + _ELLIPSIS


class StreamingReply:
    """One answer in one channel. ``update`` while streaming, then ``finish`` or ``fail``."""

    __slots__ = ("_channel", "_reference", "_interval", "_message", "_editor")

    def __init__(
        self, channel: discord.abc.Messageable, reference: discord.MessageReference | None, interval: float
    ) -> None:
        self._channel = channel
        # In a server the answer replies to the question (without pinging its author), so
        # it stays readable in a busy channel; in a DM it is just the next message.
        self._reference = reference
        self._interval = interval
        self._message: discord.Message | None = None
        self._editor: ThrottledEditor | None = None

    async def update(self, text: str) -> None:
        if not text.strip():
            return
        if self._editor is None:
            await self._start(preview(text))
        else:
            await self._editor.update(preview(text))

    async def finish(self, text: str) -> None:
        chunks = split_message(text, MESSAGE_LIMIT) or [_EMPTY_ANSWER]
        if self._editor is None:
            await self._start(chunks[0])
        else:
            await self._editor.finish(chunks[0])
        for chunk in chunks[1:]:
            await self._channel.send(chunk, allowed_mentions=NO_MENTIONS)

    async def fail(self, partial: str, reason: str) -> None:
        """Say what went wrong, after whatever part of the answer was already shown."""
        note = f"⚠️ {reason}"
        await self.finish(f"{partial}\n\n{note}" if partial.strip() else note)

    async def _start(self, text: str) -> None:
        self._message = await self._channel.send(
            text, reference=self._reference, mention_author=False, allowed_mentions=NO_MENTIONS
        )
        self._editor = ThrottledEditor(self._edit, interval=self._interval)

    async def _edit(self, text: str) -> None:
        assert self._message is not None
        try:
            await self._message.edit(content=text, allowed_mentions=NO_MENTIONS)
        except discord.RateLimited as exc:
            # discord.py waits out 429s itself unless the wait is over max_ratelimit_timeout.
            raise EditRateLimited(exc.retry_after) from exc
        except discord.HTTPException as exc:
            if exc.status != 429:
                raise
            raise EditRateLimited(_retry_after(exc)) from exc


def _retry_after(exc: discord.HTTPException) -> float:
    # A 429 that discord.py did not handle (no Via header: it came from a proxy or CDN).
    header = exc.response.headers.get("Retry-After") if exc.response is not None else None
    seconds = parse_retry_after(header)
    return _DEFAULT_RETRY_AFTER if seconds is None else seconds


async def write_answer(
    engine: Engine,
    incoming: IncomingMessage,
    channel: discord.abc.Messageable,
    reference: discord.MessageReference | None,
    interval: float,
) -> None:
    """Stream the engine's answer to ``incoming`` into ``channel``; failures get a short note."""
    out = StreamingReply(channel, reference, interval)
    text = ""
    try:
        async with engine.reply(incoming) as stream:
            async for _ in stream:
                text = stream.text
                await out.update(text)
            text = stream.text
        await out.finish(text)
    except ChatwrightError as exc:
        # The engine logged it already; the user gets the friendly text.
        await out.fail(text, user_message(exc))
    except Exception as exc:
        await out.fail(text, user_message(exc))
        raise
