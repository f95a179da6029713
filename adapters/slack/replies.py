"""Posting an answer: a "thinking" placeholder, throttled edits while the model writes,
then the final mrkdwn split into as many messages as it needs.

Why ``chat.update`` and not Slack's native ``chat.startStream``: native streams only
append raw Markdown (Slack renders it, so our conversion and code-block-aware splitting
cannot apply), a finished stream cannot be re-split, and they need the "Agents & AI
Apps" feature and a recipient in channels. One edited message works in every channel,
DM and thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.common.splitting import split_message
from adapters.common.throttle import EditRateLimited, ThrottledEditor
from adapters.slack.errors import retry_after
from adapters.slack.events import ReplyTarget
from adapters.slack.mrkdwn import preview, to_mrkdwn
from core.engine import Engine
from core.errors import user_message
from core.types import IncomingMessage

__all__ = ["MESSAGE_LIMIT", "THINKING", "SlackReplier"]

log = logging.getLogger(__name__)

# Slack cuts ``text`` at 40,000 characters but recommends under 4,000: longer messages
# are collapsed behind "Show more" and get slow to render. 3,800 leaves room for that.
MESSAGE_LIMIT = 3800
THINKING = "_thinking…_"
_EMPTY_ANSWER = "_(the model returned an empty answer)_"
_WARNING = ":warning: "
# Rendering the preview costs a Markdown conversion; a few per second is plenty since
# the editor pushes at most one per ``interval``.
_RENDERS_PER_INTERVAL = 4
_POST_ATTEMPTS = 3


class SlackReplier:
    """Answers one message in one place; holds no state between answers."""

    __slots__ = ("_client", "_engine", "_interval", "_limit", "_clock")

    def __init__(
        self,
        client: AsyncWebClient,
        engine: Engine,
        *,
        interval: float = 1.0,
        limit: int = MESSAGE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._engine = engine
        self._interval = interval
        self._limit = limit
        self._clock = clock

    async def answer(self, message: IncomingMessage, target: ReplyTarget) -> None:
        ts = await self.post(target, THINKING)
        editor = ThrottledEditor(partial(self._edit, target.channel, ts), self._interval)
        try:
            markdown = await self._stream(message, editor)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a friendly message
            await self._replace(editor, target.channel, ts, _WARNING + user_message(exc))
            return
        await self._deliver(editor, target, ts, markdown)

    async def post(self, target: ReplyTarget, text: str) -> str:
        """Post ``text`` at ``target``, waiting out a 429; returns the message ts."""
        for attempt in range(_POST_ATTEMPTS):
            try:
                response = await self._client.chat_postMessage(
                    channel=target.channel, thread_ts=target.thread_ts, text=text
                )
                return str(response["ts"])
            except SlackApiError as exc:
                wait = retry_after(exc)
                if wait is None or attempt == _POST_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _stream(self, message: IncomingMessage, editor: ThrottledEditor) -> str:
        every = self._interval / _RENDERS_PER_INTERVAL
        rendered_at = self._clock()
        async with self._engine.reply(message) as reply:
            async for _ in reply:
                if self._clock() - rendered_at >= every:
                    rendered_at = self._clock()
                    await editor.update(preview(reply.text, self._limit))
            return reply.text

    async def _deliver(self, editor: ThrottledEditor, target: ReplyTarget, ts: str, markdown: str) -> None:
        chunks = split_message(to_mrkdwn(markdown), self._limit) or [_EMPTY_ANSWER]
        await self._replace(editor, target.channel, ts, chunks[0])
        for chunk in chunks[1:]:
            await self.post(target, chunk)

    async def _replace(self, editor: ThrottledEditor, channel: str, ts: str, text: str) -> None:
        """Make the placeholder show ``text``, honouring the throttle and any 429."""
        if editor.edits == 0:
            # Nothing was edited yet (a quick answer): one update right after the
            # placeholder is within Slack's limits, and waiting a second is latency.
            try:
                await self._edit(channel, ts, text)
                return
            except EditRateLimited:
                pass
        await editor.finish(text)

    async def _edit(self, channel: str, ts: str, text: str) -> None:
        try:
            await self._client.chat_update(channel=channel, ts=ts, text=text)
        except SlackApiError as exc:
            wait = retry_after(exc)
            if wait is None:
                raise
            raise EditRateLimited(wait) from exc

