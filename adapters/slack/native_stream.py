"""An answer streamed with Slack's own ``chat.startStream`` / ``appendStream`` / ``stopStream``.

Slack renders the streamed Markdown itself (so no mrkdwn conversion) and shows the reply
growing with its own progress indicator. Streams are replies only (they need a thread)
and, outside DMs, a recipient; Slack offers them to apps with the "Agents & AI Apps"
feature. So they are opt-in (``SLACK_NATIVE_STREAMING``), used for answers in threads,
and the replier falls back to editing a message when Slack refuses to start one.

Appends are throttled like edits (``ThrottledEditor``: about one per second, 429 waited
out), and only whole lines are streamed live, so a reply that outgrows one message can
be cut between lines: the stream is closed (with its open code fence, if any) and the
rest is posted as ordinary messages, split like every other long reply.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.common.fences import open_fence
from adapters.common.throttle import ThrottledEditor
from adapters.slack.errors import edits_rate_limited, slack_error, waiting_out_429
from adapters.slack.events import ReplyTarget

__all__ = ["STREAM_LIMIT", "NativeStream", "StreamRefused"]

# Slack's bound on ``markdown_text`` in one call, kept for a whole streamed message too.
STREAM_LIMIT = 12_000
# Live appends stop growing the message here, leaving room for the last line and a fence.
_LIVE_LIMIT = 10_000
_STOP_ATTEMPTS = 3


class StreamRefused(Exception):
    """Slack would not start a stream here; ``error`` is its error code."""

    def __init__(self, error: str) -> None:
        super().__init__(f"chat.startStream refused: {error}")
        self.error = error


class NativeStream:
    """One streamed message: ``update`` while the model writes, then ``stop_with`` its
    head (``split``); the rest of a long answer is posted apart by the caller."""

    __slots__ = ("_channel", "_client", "_editor", "_sent", "ts", "stopped")

    def __init__(self, client: AsyncWebClient, channel: str, ts: str, interval: float) -> None:
        self._client = client
        self._channel = channel
        self.ts = ts
        self.stopped = False
        self._sent = 0  # characters of the answer already appended
        self._editor = ThrottledEditor(self._append_new, interval)

    @classmethod
    async def start(
        cls, client: AsyncWebClient, target: ReplyTarget, team_id: str, user_id: str, interval: float
    ) -> NativeStream:
        """Open the stream in ``target``'s thread for ``user_id``; ``StreamRefused`` if Slack won't."""
        try:
            response = await client.chat_startStream(
                channel=target.channel,
                thread_ts=target.thread_ts or "",
                recipient_team_id=team_id,
                recipient_user_id=user_id,
            )
        except SlackApiError as exc:
            raise StreamRefused(slack_error(exc)) from exc
        return cls(client, target.channel, str(response["ts"]), interval)

    async def update(self, markdown: str) -> None:
        """The answer so far; its complete lines reach Slack at most once per interval."""
        await self._editor.update(_live_part(markdown))

    def split(self, markdown: str) -> tuple[str, str]:
        """The head this stream ends with, and the rest to post apart ("" if none).

        A head longer than one message is cut after the complete lines streamed live
        (``_live_part``), with a code fence left open there closed, and re-opened at the
        start of the rest.
        """
        if len(markdown) <= STREAM_LIMIT:
            return markdown, ""
        head = _live_part(markdown)
        closing, reopening = _fence_break(head)
        return head + closing, reopening + markdown[len(head):].lstrip("\n")

    async def stop_with(self, head: str, *, blocks: list[dict[str, Any]] | None = None) -> None:
        """Stream what of ``head`` was not streamed yet, and stop; ``blocks`` (the feedback
        buttons) go under the streamed text."""
        # What was streamed live is a prefix of ``head``: the model's text only grows.
        rest = head[self._sent:]
        arguments: dict[str, Any] = {"markdown_text": rest} if rest else {}
        if blocks:
            arguments["blocks"] = blocks
        stop = partial(self._client.chat_stopStream, channel=self._channel, ts=self.ts, **arguments)
        await waiting_out_429(stop, _STOP_ATTEMPTS)
        self.stopped = True

    async def _append_new(self, text: str) -> None:
        new = text[self._sent:]
        if not new:
            return
        with edits_rate_limited():
            await self._client.chat_appendStream(channel=self._channel, ts=self.ts, markdown_text=new)
        self._sent = len(text)


def _live_part(markdown: str) -> str:
    """The complete lines of ``markdown``, up to ``_LIVE_LIMIT`` characters."""
    end = markdown.rfind("\n", 0, _LIVE_LIMIT + 1)
    return markdown[: end + 1] if end >= 0 else ""


def _fence_break(streamed: str) -> tuple[str, str]:
    """Closing and re-opening text for a code block left open at the end of ``streamed``."""
    opened = open_fence(streamed)
    if opened is None:
        return "", ""
    return f"{opened[:3]}\n", f"{opened}\n"
