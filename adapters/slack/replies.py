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
editing (the stream it had is gone with the process that opened it).

Both show Slack's status line under the thread while the model works ("is thinking…"
with the persona's loading messages, ``assistant.AnswerStatus``), cleared when the
answer settles, whether it was written or failed, or is abandoned; a native stream
shows what its tools run there too. The last message of a finished answer carries the
feedback buttons (``feedback``) unless they are turned off (``SLACK_FEEDBACK``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.common.renderer import Posted, Renderer
from adapters.common.splitting import split_message
from adapters.common.throttle import EditRateLimited, ThrottledEditor
from adapters.slack.assistant import (
    DEFAULT_LOADING_MESSAGES, AnswerStatus, LoadingMessages, PersonaLookup, ThreadStatus,
)
from adapters.slack.config import SlackConfig
from adapters.slack.errors import edits_rate_limited, retry_after, slack_error, waiting_out_429
from adapters.slack.events import ReplyTarget
from adapters.slack.feedback import BLOCKS_REFUSED, FeedbackButtons, answer_blocks, feedback_buttons
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

_T = TypeVar("_T")

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


@dataclass(frozen=True, slots=True)
class _Extras:
    """What a Slack answer shows besides its words: the status line, the feedback buttons."""

    status: AnswerStatus
    buttons: FeedbackButtons


class _SlackMessages:
    """What every Slack renderer does the same way: post, edit, delete, judge failures,
    and the status line and feedback buttons around them."""

    def __init__(self, client: AsyncWebClient, target: ReplyTarget, limit: int, extras: _Extras) -> None:
        self._client = client
        self._target = target
        self._limit = limit
        self._answer_status = extras.status
        self._buttons = extras.buttons
        self._last_part: str | None = None  # the finished answer's last part: it gets the buttons

    def parts(self, text: str) -> list[str]:
        parts = split_message(to_mrkdwn(text), self._limit) or [_EMPTY_ANSWER]
        self._finished(parts)
        return parts

    def failure_parts(self, partial_text: str, reason: str) -> list[str]:
        self._last_part = None  # a failure is not an answer to rate
        return [_WARNING + reason]

    async def post(self, part: str, index: int) -> str:
        post = partial(self._client.chat_postMessage, channel=self._target.channel, thread_ts=self._target.thread_ts,
                       text=part)
        response = await self._with_buttons(post, part, answer_blocks)
        return str(response["ts"])

    async def edit(self, message_id: str, part: str) -> None:
        update = partial(self._client.chat_update, channel=self._target.channel, ts=message_id, text=part)
        await self._with_buttons(update, part, answer_blocks)

    def _finished(self, parts: list[str]) -> None:
        # Known only once live rendering is over (``parts`` follows ``settle``), so no
        # preview edit can carry the buttons.
        self._last_part = parts[-1]

    async def _with_buttons(
        self, call: Callable[..., Awaitable[_T]], part: str, blocks: Callable[[str], list[dict[str, Any]]]
    ) -> _T:
        """``call`` with ``blocks=blocks(part)`` for the answer's last part; without them
        for any other part, and when Slack refuses them (see ``FeedbackButtons``)."""
        if part != self._last_part or not self._buttons.on:
            return await call()
        try:
            return await call(blocks=blocks(part))
        except SlackApiError as exc:
            if slack_error(exc) not in BLOCKS_REFUSED:
                raise
            self._buttons.refused(slack_error(exc))
            return await call()

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
        limit: int, clock: Callable[[], float], extras: _Extras,
    ) -> None:
        super().__init__(client, target, limit, extras)
        self._interval = interval
        self._placeholder_delay = placeholder_delay
        self._clock = clock
        self._placeholder: Placeholder[_Shown] | None = None
        self._shown: _Shown | None = None
        self._rendered_at: float | None = None
        self._status = ""

    async def start(self, posted: Posted, written: Callable[[], bool], live: str | None) -> None:
        self._answer_status.begin()
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
        await self._answer_status.end()
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
        await _quietly_ended(self._answer_status)

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
        self, client: AsyncWebClient, target: ReplyTarget, stream: NativeStream, limit: int, extras: _Extras,
    ) -> None:
        super().__init__(client, target, limit, extras)
        self._stream = stream

    async def start(self, posted: Posted, written: Callable[[], bool], live: str | None) -> None:
        # Never resumed (see SlackRenderers): ``live`` is always None here.
        await posted(self._stream.ts)
        self._answer_status.begin()

    async def update(self, text: str) -> None:
        await self._stream.update(text)

    async def status(self, text: str) -> None:
        # Streamed text cannot be taken back, so the status is the thread's, not the stream's.
        await self._answer_status.tool(text)

    async def settle(self) -> None:
        await self._answer_status.end()

    async def abandon(self) -> None:
        await _quietly_ended(self._answer_status)

    def parts(self, text: str) -> list[str]:
        if not text.strip():
            return [_EMPTY_ANSWER]
        head, rest = self._stream.split(text)
        parts = [head, *split_message(to_mrkdwn(rest), self._limit)]
        self._finished(parts)
        return parts

    def failure_parts(self, partial_text: str, reason: str) -> list[str]:
        super().failure_parts(partial_text, reason)
        notice = _WARNING + reason
        return [f"{partial_text}\n\n{notice}" if partial_text.strip() else notice]

    async def edit(self, message_id: str, part: str) -> None:
        if message_id == self._stream.ts and not self._stream.stopped:
            # The stream's Markdown stays as Slack rendered it; only the buttons are added.
            await self._with_buttons(partial(self._stream.stop_with, part), part, lambda _: feedback_buttons())
        else:
            await super().edit(message_id, part)


async def _quietly_ended(status: AnswerStatus) -> None:
    """Clears the status of an abandoned answer; never raises (``abandon`` may not)."""
    try:
        await status.end()
    except Exception as exc:  # noqa: BLE001 - shutting down: Slack times the status out itself
        log.info("could not clear the status of an abandoned answer: %r", exc)


class SlackRenderers:
    """Makes each answer's renderer; between answers it keeps only whether Slack refused
    native streaming, the status line or the feedback buttons."""

    __slots__ = ("_client", "_interval", "_placeholder_delay", "_limit", "_clock", "_native", "_statuses",
                 "_loading", "_buttons")

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        interval: float = 1.0,
        placeholder_delay: float = PLACEHOLDER_DELAY,
        limit: int = MESSAGE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        native: bool = False,
        loading: LoadingMessages | None = None,
        feedback: bool = True,
    ) -> None:
        self._client = client
        self._interval = interval
        self._placeholder_delay = placeholder_delay
        self._limit = limit
        self._clock = clock
        self._native = native
        self._statuses = ThreadStatus(client)
        self._loading = loading or LoadingMessages(None)
        self._buttons = FeedbackButtons(feedback)

    @classmethod
    def of(cls, client: AsyncWebClient, config: SlackConfig, personas: PersonaLookup) -> SlackRenderers:
        """The renderers ``config`` asks for, with loading messages from each channel's persona."""
        loading = LoadingMessages(personas, config.loading_messages or DEFAULT_LOADING_MESSAGES)
        return cls(client, interval=config.edit_interval, native=config.native_streaming, loading=loading,
                   feedback=config.feedback)

    async def __call__(self, message: IncomingMessage, route: Route, resumed: bool) -> Renderer:
        target = target_of(route)
        extras = self._extras(message, target)
        if self._native and target.thread_ts and not resumed:
            stream = await self._start_stream(message, target)
            if stream is not None:
                return NativeStreamed(self._client, target, stream, self._limit, extras)
        return EditedMessage(self._client, target, interval=self._interval, placeholder_delay=self._placeholder_delay,
                             limit=self._limit, clock=self._clock, extras=extras)

    def _extras(self, message: IncomingMessage, target: ReplyTarget) -> _Extras:
        loading = partial(self._loading.of, message.conversation.channel_ref)
        return _Extras(AnswerStatus(self._statuses, target, loading), self._buttons)

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
