"""How Discord shows an answer: the renderer the answer pipeline drives.

While the model writes, the channel shows the typing indicator and one message with the
text so far (cut at Discord's limit), edited at most once per interval; a 429 on an edit
pushes the next edit back by its ``retry_after``. At the end the pipeline delivers the
text split at 2,000 characters without breaking code blocks or words: the first part
into that message, the rest as new ones. In a server the first message replies to the
question (without pinging its author); in a DM it is just the next message. While tools
run, the message shows what runs in an italic line under the words so far ("*Running
time…*"); the answer replaces it.

Every send and edit carries ``AllowedMentions.none()``: model output never pings anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AsyncExitStack

import aiohttp
import discord

from adapters.common.preview import preview as common_preview
from adapters.common.renderer import Posted
from adapters.common.splitting import split_message
from adapters.common.throttle import EditRateLimited, ThrottledEditor
from adapters.discord.config import MESSAGE_LIMIT
from core.answers import Route
from core.model.retry import parse_retry_after
from core.types import IncomingMessage

__all__ = ["NO_MENTIONS", "DiscordRenderers", "EditedReply", "preview", "route_of"]

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
_EMPTY_ANSWER = "(The model sent an empty answer.)"
# Discord's 429 body has retry_after; when only the status got through, wait this long.
_DEFAULT_RETRY_AFTER = 1.0


def preview(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """The text while it streams (``adapters/common/preview``): one message at most."""
    return common_preview(text, limit)


def route_of(message: discord.Message) -> Route:
    """Where the answer goes: the question's channel, replying to it in a server."""
    route = {"channel": str(message.channel.id)}
    if message.guild is not None:
        route.update(reply_to=str(message.id), guild=str(message.guild.id))
    return route


class EditedReply:
    """One answer in one channel (see the module docstring)."""

    def __init__(
        self, channel: discord.abc.Messageable, reference: discord.MessageReference | None, interval: float
    ) -> None:
        self._channel = channel
        self._reference = reference
        self._interval = interval
        self._typing = AsyncExitStack()
        self._posted: Posted | None = None
        self._live: discord.Message | discord.PartialMessage | None = None
        self._editor: ThrottledEditor | None = None
        self._status = ""

    async def start(self, posted: Posted, written: Callable[[], bool], live: str | None) -> None:
        self._posted = posted
        if live is not None:
            # Resumed: the preview from before the restart goes on showing the answer.
            self._live = self._channel.get_partial_message(int(live))  # type: ignore[attr-defined]
            self._editor = ThrottledEditor(self._edit_live, interval=self._interval)
        try:
            await self._typing.enter_async_context(self._channel.typing())
        except discord.HTTPException as exc:
            # Without the indicator (e.g. 403) the answer still goes.
            log.info("discord: no typing indicator in %s: %s", getattr(self._channel, "id", "?"), exc)

    async def update(self, text: str) -> None:
        shown = self._preview(text)
        if not shown.strip():
            return
        if self._editor is None:
            self._live = await self._send(shown, first=True)
            self._editor = ThrottledEditor(self._edit_live, interval=self._interval)
            if self._posted is not None:
                await self._posted(str(self._live.id))
        else:
            await self._editor.update(shown)

    async def status(self, text: str) -> None:
        self._status = text  # shown by the next update (the pipeline's next call)

    async def settle(self) -> None:
        await self._typing.aclose()

    async def abandon(self) -> None:
        await self._typing.aclose()

    def parts(self, text: str) -> list[str]:
        return split_message(text, MESSAGE_LIMIT) or [_EMPTY_ANSWER]

    def failure_parts(self, partial: str, reason: str) -> list[str]:
        """Say what went wrong, after whatever part of the answer was already shown."""
        note = f"⚠️ {reason}"
        return self.parts(f"{partial}\n\n{note}" if partial.strip() else note)

    async def post(self, part: str, index: int) -> str:
        return str((await self._send(part, first=index == 0)).id)

    async def edit(self, message_id: str, part: str) -> None:
        if self._live is not None and str(self._live.id) == message_id and self._editor is not None:
            await self._editor.finish(part, max_attempts=1)
            return
        message = self._channel.get_partial_message(int(message_id))  # type: ignore[attr-defined]
        await message.edit(content=part, allowed_mentions=NO_MENTIONS)

    async def delete(self, message_id: str) -> None:
        await self._channel.get_partial_message(int(message_id)).delete()  # type: ignore[attr-defined]

    def retry_after(self, exc: Exception) -> float | None:
        if isinstance(exc, EditRateLimited):
            return exc.retry_after
        if isinstance(exc, discord.RateLimited):
            return exc.retry_after
        if isinstance(exc, discord.HTTPException):
            if exc.status == 429:
                return _retry_after(exc)
            return 0.0 if exc.status >= 500 else None
        if isinstance(exc, (aiohttp.ClientError, TimeoutError, OSError)):
            return 0.0
        return None

    def _preview(self, text: str) -> str:
        """The answer so far, and under it the status, if any, in italics."""
        if not self._status:
            return preview(text) if text.strip() else ""
        line = f"*{self._status}*"
        if not text.strip():
            return line
        return f"{preview(text, MESSAGE_LIMIT - len(line) - 2)}\n\n{line}"

    async def _send(self, text: str, *, first: bool) -> discord.Message:
        reference = self._reference if first else None
        return await self._channel.send(
            text, reference=reference, mention_author=False, allowed_mentions=NO_MENTIONS)  # type: ignore[arg-type]

    async def _edit_live(self, text: str) -> None:
        assert self._live is not None
        try:
            await self._live.edit(content=text, allowed_mentions=NO_MENTIONS)
        except discord.RateLimited as exc:
            # discord.py waits out 429s itself unless the wait is over max_ratelimit_timeout.
            raise EditRateLimited(exc.retry_after) from exc
        except discord.HTTPException as exc:
            if exc.status != 429:
                raise
            raise EditRateLimited(_retry_after(exc)) from exc


class DiscordRenderers:
    """Makes each answer's renderer, on the channel its route names."""

    def __init__(self, client: Callable[[], discord.Client | None], interval: float) -> None:
        self._client = client
        self._interval = interval

    async def __call__(self, message: IncomingMessage, route: Route, resumed: bool) -> EditedReply:
        client = self._client()
        if client is None:
            raise RuntimeError("the Discord client is not running")
        channel = client.get_partial_messageable(int(route["channel"]))
        reference = None
        if route.get("reply_to"):
            # If the question is deleted meanwhile, the answer is still posted (not as a reply).
            reference = discord.MessageReference(
                message_id=int(route["reply_to"]), channel_id=int(route["channel"]),
                guild_id=int(route["guild"]) if route.get("guild") else None, fail_if_not_exists=False)
        return EditedReply(channel, reference, self._interval)


def _retry_after(exc: discord.HTTPException) -> float:
    # A 429 that discord.py did not handle (no Via header: it came from a proxy or CDN).
    header = exc.response.headers.get("Retry-After") if exc.response is not None else None
    seconds = parse_retry_after(header)
    return _DEFAULT_RETRY_AFTER if seconds is None else seconds
