"""Slack's AI-app surface: the status line under a thread, suggested prompts, agent-view events.

- ``ThreadStatus``: ``assistant.threads.setStatus``, the "is thinking…" line Slack shows
  under a thread while an app works, with loading messages it rotates through. Every
  Slack answer in a thread sets it when it starts and clears it when it ends, however
  it ends (``AnswerStatus``); native streams show their tools' progress there too. Best
  effort: the first refusal (not an assistant thread, a scope missing) is logged once
  and no status is set again by this process; a status never holds an answer up.
- ``AssistantEvents``: ``assistant_thread_started`` (someone opened a DM thread with the
  app, in the side panel or the Messages tab) gets the persona's suggested prompts
  (``assistant.threads.setSuggestedPrompts``, which needs ``assistant:write``);
  ``app_home_opened`` on the Messages tab needs nothing, and is acknowledged quietly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.errors import slack_error
from adapters.slack.events import ReplyTarget
from core.engine import Engine
from core.types import ChannelRef, Persona

__all__ = [
    "DEFAULT_LOADING_MESSAGES", "THINKING_STATUS", "AnswerStatus", "AssistantEvents", "LoadingMessages",
    "PersonaLookup", "ThreadStatus", "persona_lookup", "suggested_prompts",
]

log = logging.getLogger(__name__)

# Slack shows it after the app's name: "chatwright is thinking…".
THINKING_STATUS = "is thinking…"
DEFAULT_LOADING_MESSAGES = ("Thinking…", "Reading what was said…", "Writing the answer…")
# Slack takes at most 10 loading messages and 4 suggested prompts.
_MAX_LOADING_MESSAGES = 10
_MAX_PROMPTS = 4
# A prompt's title is a button's label; the message is what it sends.
_TITLE_LIMIT = 60

# The persona in force in a channel (``Engine.persona_for``, its first value).
PersonaLookup = Callable[[ChannelRef], Awaitable[Persona]]


def persona_lookup(engine: Engine) -> PersonaLookup:
    """The persona in force in a channel, as the engine finds it."""

    async def persona(channel: ChannelRef) -> Persona:
        return (await engine.persona_for(channel))[0]

    return persona


class ThreadStatus:
    """Sets and clears a thread's status line; one per process (see the module docstring)."""

    __slots__ = ("_client", "_refused")

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._refused = False

    async def show(self, target: ReplyTarget, status: str, loading_messages: tuple[str, ...] = ()) -> None:
        """``status`` under ``target``'s thread ("" clears it); nothing outside a thread."""
        if self._refused or not target.thread_ts:
            return
        extra: dict[str, Any] = {"loading_messages": list(loading_messages)} if status and loading_messages else {}
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=target.channel, thread_ts=target.thread_ts, status=status, **extra)
        except SlackApiError as exc:
            if slack_error(exc) == "ratelimited":
                return  # this one is skipped; the next may go
            self._refused = True
            log.warning("Slack refused assistant.threads.setStatus (%s); answers show no status line "
                        "from now on", slack_error(exc))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.info("could not set the status in %s: %r", target.channel, exc)

    @property
    def refused(self) -> bool:
        return self._refused


class LoadingMessages:
    """The loading messages of a channel: its persona's, else the configured defaults."""

    __slots__ = ("_personas", "_defaults")

    def __init__(self, personas: PersonaLookup | None, defaults: tuple[str, ...] = DEFAULT_LOADING_MESSAGES) -> None:
        self._personas = personas
        self._defaults = defaults[:_MAX_LOADING_MESSAGES]

    async def of(self, channel: ChannelRef) -> tuple[str, ...]:
        if self._personas is None:
            return self._defaults
        try:
            persona = await self._personas(channel)
        except Exception as exc:  # noqa: BLE001 - a status line is not worth failing an answer
            log.info("no persona for the loading messages of %s: %s", channel.channel, exc)
            return self._defaults
        return persona.loading_messages[:_MAX_LOADING_MESSAGES] or self._defaults


class AnswerStatus:
    """The status line of one answer: ``begin`` when the model starts, ``tool`` while a
    tool runs (a native stream's progress), ``end`` however the answer ends (idempotent).

    ``begin`` only starts setting it: the model is not kept waiting for the persona's
    loading messages and a Slack round trip. What follows waits for it, so a status is
    never cleared before it was set.
    """

    __slots__ = ("_statuses", "_target", "_loading", "_messages", "_shown", "_setting")

    def __init__(
        self, statuses: ThreadStatus, target: ReplyTarget, loading: Callable[[], Awaitable[tuple[str, ...]]]
    ) -> None:
        self._statuses = statuses
        self._target = target
        self._loading = loading
        self._messages: tuple[str, ...] = ()
        self._shown = ""
        self._setting: asyncio.Task[None] | None = None

    def begin(self) -> None:
        if self._target.thread_ts and not self._statuses.refused and self._setting is None:
            self._setting = asyncio.create_task(self._think(), name=f"slack-status:{self._target.channel}")

    async def tool(self, text: str) -> None:
        """What runs now; "" once it is done: the model is thinking again."""
        await self._begun()
        await self._set(text or THINKING_STATUS)

    async def end(self) -> None:
        await self._begun()
        if self._shown:
            await self._set("")

    async def _think(self) -> None:
        self._messages = await self._loading()
        await self._set(THINKING_STATUS)

    async def _begun(self) -> None:
        setting = self._setting
        if setting is None or setting.done() and setting.cancelled():
            return
        try:
            await asyncio.shield(setting)  # a cancelled ``end`` leaves it to finish
        except Exception as exc:  # noqa: BLE001 - a status line never fails an answer
            log.info("could not set the status in %s: %r", self._target.channel, exc)

    async def _set(self, status: str) -> None:
        if status == self._shown:
            return
        self._shown = status
        await self._statuses.show(self._target, status, self._messages if status == THINKING_STATUS else ())


def suggested_prompts(persona: Persona) -> list[dict[str, str]]:
    """The persona's prompts as Slack takes them (at most four; the title shortened)."""
    return [{"title": _title(prompt), "message": prompt} for prompt in persona.suggested_prompts[:_MAX_PROMPTS]]


def _title(prompt: str) -> str:
    line = prompt.strip().splitlines()[0] if prompt.strip() else prompt
    return line if len(line) <= _TITLE_LIMIT else line[: _TITLE_LIMIT - 1].rstrip() + "…"


class AssistantEvents:
    """The Bolt handlers of the agent view's events (see the module docstring)."""

    __slots__ = ("_client", "_personas")

    def __init__(self, client: AsyncWebClient, personas: PersonaLookup) -> None:
        self._client = client
        self._personas = personas

    async def on_thread_started(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        thread = event.get("assistant_thread")
        if not isinstance(thread, dict):
            return
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        if not isinstance(channel, str) or not isinstance(thread_ts, str):
            return
        team = str(body.get("team_id") or (thread.get("context") or {}).get("team_id") or "")
        persona = await self._personas(ChannelRef("slack", team, channel))
        prompts = suggested_prompts(persona)
        if not prompts:
            return
        try:
            await self._client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, thread_ts=thread_ts, prompts=prompts)
        except SlackApiError as exc:  # e.g. no assistant:write: the thread works without them
            log.warning("Slack refused assistant.threads.setSuggestedPrompts in %s (%s)", channel, slack_error(exc))

    async def on_home_opened(self, event: dict[str, Any]) -> None:
        # The Messages tab (the agent view's DM) needs nothing before the first message;
        # the Home tab is not offered. Handled so that Bolt does not report it unhandled.
        log.debug("app_home_opened on the %s tab", event.get("tab"))
