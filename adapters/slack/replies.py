"""Posting an answer: a "thinking" placeholder, throttled edits while the model writes,
then the final mrkdwn split into as many messages as it needs. An answer that is
complete before the placeholder would be posted is posted directly (see ``placeholder``).

With ``native=True`` (``SLACK_NATIVE_STREAMING``) an answer in a thread is streamed with
Slack's own ``chat.startStream`` instead (``native_stream``). It stays opt-in: native
streams need the "Agents & AI Apps" feature and a thread, and Slack renders their raw
Markdown itself; one edited message works in every channel, DM and thread. When Slack
refuses a stream, the replier says so once in the log and edits messages from then on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from slack_sdk.web.async_client import AsyncWebClient

from adapters.common.splitting import split_message
from adapters.common.throttle import EditRateLimited, ThrottledEditor
from adapters.slack.errors import edits_rate_limited, waiting_out_429
from adapters.slack.events import ReplyTarget
from adapters.slack.mrkdwn import preview, to_mrkdwn
from adapters.slack.native_stream import NativeStream, StreamRefused
from adapters.slack.placeholder import Placeholder
from core.engine import Engine, ReplyStream
from core.errors import user_message
from core.types import IncomingMessage

__all__ = ["MESSAGE_LIMIT", "PLACEHOLDER_DELAY", "THINKING", "SlackReplier"]

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
# An answer complete within this many seconds is posted without a placeholder first;
# short enough that a slower one still shows "thinking" before anyone wonders.
PLACEHOLDER_DELAY = 0.3


@dataclass(frozen=True, slots=True)
class _Shown:
    """A posted placeholder: its ts, and the throttle for its edits (started when posted)."""

    ts: str
    editor: ThrottledEditor


class SlackReplier:
    """Answers one message in one place; between answers it keeps only whether Slack
    refused native streaming."""

    __slots__ = ("_client", "_engine", "_interval", "_placeholder_delay", "_limit", "_clock", "_native")

    def __init__(
        self,
        client: AsyncWebClient,
        engine: Engine,
        *,
        interval: float = 1.0,
        placeholder_delay: float = PLACEHOLDER_DELAY,
        limit: int = MESSAGE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        native: bool = False,
    ) -> None:
        self._native = native
        self._client = client
        self._engine = engine
        self._interval = interval
        self._placeholder_delay = placeholder_delay
        self._limit = limit
        self._clock = clock

    async def answer(self, message: IncomingMessage, target: ReplyTarget) -> None:
        if self._native and target.thread_ts:
            stream = await self._start_stream(message, target)
            if stream is not None:
                await self._answer_streamed(message, target, stream)
                return
        reply = self._engine.reply(message)
        # "Thinking" is for while the model writes; an answer it has finished is next.
        placeholder = Placeholder(
            partial(self._post_placeholder, target), self._placeholder_delay, unless=lambda: reply.written)
        try:
            chunks = await self._write(reply, placeholder)
            shown = await self._withdraw(placeholder, target)
        except BaseException:
            placeholder.discard()
            raise
        if shown is None:
            await self.post(target, chunks[0])
        else:
            await self._replace(shown, target.channel, chunks[0])
        for chunk in chunks[1:]:
            await self.post(target, chunk)

    async def post(self, target: ReplyTarget, text: str) -> str:
        """Post ``text`` at ``target``, waiting out a 429; returns the message ts."""
        response = await waiting_out_429(
            partial(self._client.chat_postMessage, channel=target.channel, thread_ts=target.thread_ts, text=text),
            _POST_ATTEMPTS,
        )
        return str(response["ts"])

    async def _start_stream(self, message: IncomingMessage, target: ReplyTarget) -> NativeStream | None:
        """A native stream for the answer, or None to edit a message instead."""
        team_id = message.conversation.workspace
        try:
            return await NativeStream.start(self._client, target, team_id, message.user_id, self._interval)
        except StreamRefused as exc:
            if exc.error != "ratelimited":  # a 429 is for now; anything else is for good
                self._native = False
                log.warning("SLACK_NATIVE_STREAMING is on but Slack refused chat.startStream (%s); "
                            "answering with edited messages from now on", exc.error)
            return None

    async def _answer_streamed(self, message: IncomingMessage, target: ReplyTarget, stream: NativeStream) -> None:
        try:
            async with self._engine.reply(message) as reply:
                async for _ in reply:
                    await stream.update(reply.text)
                markdown = reply.text
        except Exception as exc:  # noqa: BLE001 - every failure becomes a friendly message
            await stream.fail(_WARNING + user_message(exc))
            return
        rest = await stream.finish(markdown or _EMPTY_ANSWER)
        for chunk in split_message(to_mrkdwn(rest), self._limit):
            await self.post(target, chunk)

    async def _withdraw(self, placeholder: Placeholder[_Shown], target: ReplyTarget) -> _Shown | None:
        """The placeholder to replace, if one was posted (None: post the answer itself)."""
        try:
            return await placeholder.withdraw()
        except Exception as exc:  # noqa: BLE001 - a lost placeholder must not lose the answer
            log.warning("no placeholder in %s (%s); posting the answer as it is", target.channel, exc)
            return None

    async def _post_placeholder(self, target: ReplyTarget) -> _Shown:
        ts = await self.post(target, THINKING)
        return _Shown(ts, ThrottledEditor(partial(self._edit, target.channel, ts), self._interval))

    async def _write(self, reply: ReplyStream, placeholder: Placeholder[_Shown]) -> list[str]:
        """The answer as the messages to post; a failure becomes one friendly message."""
        try:
            markdown = await self._stream(reply, placeholder)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a friendly message
            return [_WARNING + user_message(exc)]
        return split_message(to_mrkdwn(markdown), self._limit) or [_EMPTY_ANSWER]

    async def _stream(self, reply: ReplyStream, placeholder: Placeholder[_Shown]) -> str:
        every = self._interval / _RENDERS_PER_INTERVAL
        rendered_at: float | None = None
        async with reply:
            async for _ in reply:
                if rendered_at is None:
                    # The first preview waits a moment after the first words: an answer
                    # that arrives whole is not shown in part first, which would hold
                    # the complete one back by a whole interval.
                    rendered_at = self._clock()
                # Progress shows in the placeholder, once there is one.
                if self._clock() - rendered_at >= every and (shown := placeholder.posted()):
                    rendered_at = self._clock()
                    await shown.editor.update(preview(reply.text, self._limit))
            return reply.text

    async def _replace(self, shown: _Shown, channel: str, text: str) -> None:
        """Make the placeholder show ``text``, honouring the throttle and any 429."""
        if shown.editor.edits == 0:
            # Nothing was edited yet (a quick answer): one update right after the
            # placeholder is within Slack's limits, and waiting a second is latency.
            try:
                await self._edit(channel, shown.ts, text)
                return
            except EditRateLimited:
                pass
        await shown.editor.finish(text)

    async def _edit(self, channel: str, ts: str, text: str) -> None:
        with edits_rate_limited():
            await self._client.chat_update(channel=channel, ts=ts, text=text)

