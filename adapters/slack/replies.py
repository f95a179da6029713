"""How Slack shows an answer: the renderers the answer pipeline drives.

``EditedMessage``: a "thinking" placeholder once the answer takes longer than
``PLACEHOLDER_DELAY`` (see ``placeholder``), edited with the answer so far about once per
interval, and at the end the mrkdwn answer split into as many messages as it needs. An
answer complete before the placeholder is due is posted as it is. While tools run, the
placeholder shows what runs in an italic line under the words so far ("_Running time…_").

``NativeStreamed`` (``SLACK_NATIVE_STREAMING``): an answer in a thread streamed with
Slack's own ``chat.startStream`` (``native_stream``). It stays opt-in: native streams
need the "Agents & AI Apps" feature and a thread, and Slack renders their raw Markdown
itself. When Slack refuses a stream, ``SlackRenderers`` says so once in the log and
edits messages from then on. An answer resumed after a restart is always shown by
editing (the stream it had is gone with the process that opened it). While tools run,
a native stream's thread shows what runs as its status (``assistant.threads.setStatus``,
the "is thinking…" line of AI apps); where Slack refuses that, the stream shows no status.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.common.renderer import Posted, Renderer
from adapters.common.splitting import split_message
from adapters.common.throttle import EditRateLimited, ThrottledEditor
from adapters.slack.errors import edits_rate_limited, retry_after, slack_error, waiting_out_429
from adapters.slack.events import ReplyTarget
from adapters.slack.mrkdwn import preview, to_mrkdwn
from adapters.slack.native_stream import NativeStream, StreamRefused
from adapters.slack.placeholder import Placeholder
from core.answers import Route
from core.types import IncomingMessage

__all__ = [
    "MESSAGE_LIMIT", "PLACEHOLDER_DELAY", "THINKING", "EditedMessage", "NativeStreamed",
    "SlackRenderers", "post_text", "route_of", "target_of",
]

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
# Slack errors that say "try again" rather than "this cannot work".
_TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                               "ratelimited", "team_added_to_org"})


def route_of(target: ReplyTarget) -> Route:
    return {"channel": target.channel, "thread_ts": target.thread_ts or ""}


def target_of(route: Route) -> ReplyTarget:
    return ReplyTarget(route["channel"], route.get("thread_ts") or None)


async def post_text(client: AsyncWebClient, target: ReplyTarget, text: str) -> str:
    """Post ``text`` at ``target``, waiting out a 429; returns the message ts."""
    response = await waiting_out_429(
        partial(client.chat_postMessage, channel=target.channel, thread_ts=target.thread_ts, text=text),
        _POST_ATTEMPTS,
    )
    return str(response["ts"])


@dataclass(frozen=True, slots=True)
class _Shown:
    """A posted placeholder: its ts, and the throttle for its edits (started when posted)."""

    ts: str
    editor: ThrottledEditor


class _SlackMessages:
    """What every Slack renderer does the same way: post, edit, delete, judge failures."""

    def __init__(self, client: AsyncWebClient, target: ReplyTarget, limit: int) -> None:
        self._client = client
        self._target = target
        self._limit = limit

    def parts(self, text: str) -> list[str]:
        return split_message(to_mrkdwn(text), self._limit) or [_EMPTY_ANSWER]

    def failure_parts(self, partial_text: str, reason: str) -> list[str]:
        return [_WARNING + reason]

    async def post(self, part: str, index: int) -> str:
        response = await self._client.chat_postMessage(
            channel=self._target.channel, thread_ts=self._target.thread_ts, text=part)
        return str(response["ts"])

    async def edit(self, message_id: str, part: str) -> None:
        await self._client.chat_update(channel=self._target.channel, ts=message_id, text=part)

    async def delete(self, message_id: str) -> None:
        await self._client.chat_delete(channel=self._target.channel, ts=message_id)

    def retry_after(self, exc: Exception) -> float | None:
        if isinstance(exc, EditRateLimited):
            return exc.retry_after
        if isinstance(exc, SlackApiError):
            wait = retry_after(exc)
            if wait is not None:
                return wait
            status = getattr(exc.response, "status_code", 200)
            return 0.0 if status >= 500 or slack_error(exc) in _TRANSIENT_ERRORS else None
        if isinstance(exc, (aiohttp.ClientError, TimeoutError, OSError)):
            return 0.0
        return None

    async def abandon(self) -> None:
        pass


class EditedMessage(_SlackMessages):
    """One answer shown in an edited placeholder (see the module docstring)."""

    def __init__(
        self, client: AsyncWebClient, target: ReplyTarget, *, interval: float, placeholder_delay: float,
        limit: int, clock: Callable[[], float],
    ) -> None:
        super().__init__(client, target, limit)
        self._interval = interval
        self._placeholder_delay = placeholder_delay
        self._clock = clock
        self._placeholder: Placeholder[_Shown] | None = None
        self._shown: _Shown | None = None
        self._rendered_at: float | None = None
        self._status = ""

    async def start(self, posted: Posted, written: Callable[[], bool], live: str | None) -> None:
        if live is not None:
            # Resumed: the placeholder (or preview) from before the restart shows it.
            self._shown = self._shown_in(live)
            return
        # "Thinking" is for while the model writes; an answer it has finished is next.
        self._placeholder = Placeholder(
            partial(self._post_placeholder, posted), self._placeholder_delay, unless=written)

    async def update(self, text: str) -> None:
        if self._rendered_at is None:
            # The first preview waits a moment after the first words: an answer that
            # arrives whole is not shown in part first, which would hold the complete
            # one back by a whole interval.
            self._rendered_at = self._clock()
            return
        every = self._interval / _RENDERS_PER_INTERVAL
        shown = self._placeholder.posted() if self._placeholder is not None else self._shown
        if shown is not None and self._clock() - self._rendered_at >= every:
            self._rendered_at = self._clock()
            await shown.editor.update(self._preview(text))

    async def status(self, text: str) -> None:
        self._status = text  # shown by the next update (the pipeline's next call)

    async def settle(self) -> None:
        placeholder, self._placeholder = self._placeholder, None
        if placeholder is None:
            return  # none was started (a resumed answer has its message already)
        try:
            self._shown = await placeholder.withdraw()
        except Exception as exc:  # noqa: BLE001 - a lost placeholder must not lose the answer
            log.warning("no placeholder in %s (%s); posting the answer as it is", self._target.channel, exc)

    async def abandon(self) -> None:
        if self._placeholder is not None:
            self._placeholder.discard()

    async def edit(self, message_id: str, part: str) -> None:
        shown = self._shown
        if shown is not None and shown.ts == message_id and shown.editor.edits:
            # Edited a moment ago: the last edit waits its turn rather than earn a 429.
            await shown.editor.finish(part, max_attempts=1)
            return
        await super().edit(message_id, part)

    def _preview(self, text: str) -> str:
        """The answer so far, and under it the status, if any, in italics."""
        if not self._status:
            return preview(text, self._limit) or THINKING
        line = f"_{self._status}_"
        if not text.strip():
            return line
        return f"{preview(text, self._limit - len(line) - 2)}\n\n{line}"

    async def _post_placeholder(self, posted: Posted) -> _Shown:
        # A status known by now (a quick model asking for tools) shows at once.
        ts = await post_text(self._client, self._target, f"_{self._status}_" if self._status else THINKING)
        await posted(ts)
        return self._shown_in(ts)

    def _shown_in(self, ts: str) -> _Shown:
        return _Shown(ts, ThrottledEditor(partial(self._edit_preview, ts), self._interval))

    async def _edit_preview(self, ts: str, text: str) -> None:
        with edits_rate_limited():
            await super().edit(ts, text)


class NativeStreamed(_SlackMessages):
    """One answer streamed with ``chat.startStream`` (see the module docstring)."""

    def __init__(
        self, client: AsyncWebClient, target: ReplyTarget, stream: NativeStream, limit: int,
        statuses: _ThreadStatus,
    ) -> None:
        super().__init__(client, target, limit)
        self._stream = stream
        self._statuses = statuses
        self._status = ""

    async def start(self, posted: Posted, written: Callable[[], bool], live: str | None) -> None:
        # Never resumed (see SlackRenderers): ``live`` is always None here.
        await posted(self._stream.ts)

    async def update(self, text: str) -> None:
        await self._stream.update(text)

    async def status(self, text: str) -> None:
        # Streamed text cannot be taken back, so the status is the thread's, not the stream's.
        if text != self._status:
            self._status = text
            await self._statuses.set(self._target, text)

    async def settle(self) -> None:
        if self._status:  # a failed answer may end with one still set
            self._status = ""
            await self._statuses.set(self._target, "")

    def parts(self, text: str) -> list[str]:
        if not text.strip():
            return [_EMPTY_ANSWER]
        head, rest = self._stream.split(text)
        return [head, *split_message(to_mrkdwn(rest), self._limit)]

    def failure_parts(self, partial_text: str, reason: str) -> list[str]:
        notice = _WARNING + reason
        return [f"{partial_text}\n\n{notice}" if partial_text.strip() else notice]

    async def edit(self, message_id: str, part: str) -> None:
        if message_id == self._stream.ts and not self._stream.stopped:
            await self._stream.stop_with(part)
        else:
            await super().edit(message_id, part)


class _ThreadStatus:
    """Sets a thread's status line (``assistant.threads.setStatus``). Best effort: the
    first refusal (say, a missing ``assistant:write`` scope) is logged once and no status
    is set again until the bot restarts; a status never holds an answer up."""

    __slots__ = ("_client", "_refused")

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._refused = False

    async def set(self, target: ReplyTarget, status: str) -> None:
        if self._refused or not target.thread_ts:
            return
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=target.channel, thread_ts=target.thread_ts, status=status)
        except SlackApiError as exc:
            if slack_error(exc) == "ratelimited":
                return  # this one is skipped; the next may go
            self._refused = True
            log.warning("Slack refused assistant.threads.setStatus (%s); native streams show no "
                        "tool status from now on", slack_error(exc))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.info("could not set the status in %s: %r", target.channel, exc)


class SlackRenderers:
    """Makes each answer's renderer; between answers it keeps only whether Slack refused
    native streaming."""

    __slots__ = ("_client", "_interval", "_placeholder_delay", "_limit", "_clock", "_native", "_statuses")

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        interval: float = 1.0,
        placeholder_delay: float = PLACEHOLDER_DELAY,
        limit: int = MESSAGE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        native: bool = False,
    ) -> None:
        self._client = client
        self._interval = interval
        self._placeholder_delay = placeholder_delay
        self._limit = limit
        self._clock = clock
        self._native = native
        self._statuses = _ThreadStatus(client)

    async def __call__(self, message: IncomingMessage, route: Route, resumed: bool) -> Renderer:
        target = target_of(route)
        if self._native and target.thread_ts and not resumed:
            stream = await self._start_stream(message, target)
            if stream is not None:
                return NativeStreamed(self._client, target, stream, self._limit, self._statuses)
        return EditedMessage(self._client, target, interval=self._interval,
                             placeholder_delay=self._placeholder_delay, limit=self._limit, clock=self._clock)

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
