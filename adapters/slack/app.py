"""The Bolt ``AsyncApp`` and its thin handlers: translate, hand to the pipeline, return.

Events are acknowledged after the handler returns (``process_before_response``), and
the handler returns once the answer is recorded in the store (``AnswerPipeline.accept``),
not once it is written: an acknowledged event is never lost to a crash, and the ack
never waits for the model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.admins import AdminDirectory
from adapters.slack.assistant import AssistantEvents, persona_lookup
from adapters.slack.auth import OnceAuthorize
from adapters.slack.commands import (
    SlashCommand, command_problem, command_request, ephemeral, hidden_commands, is_help, response_for, slack_help,
    slash_commands,
)
from adapters.slack.config import SlackConfig
from adapters.slack.events import Answer, Ignore, MessageEvent, decide
from adapters.slack.feedback import FEEDBACK_ACTION, FeedbackHandler
from adapters.slack.mrkdwn import escape
from adapters.slack.replies import post_text, route_of
from adapters.slack.shortcuts import SHORTCUTS, MessageShortcuts
from adapters.common.commands import run_command
from adapters.common.pipeline import AnswerPipeline
from adapters.common.tasks import TaskSet
from core import metrics
from core.commands import parse_command_line
from core.engine import Engine
from core.types import CommandRequest, CommandResult

__all__ = ["BuiltApp", "build_app", "SlackHandlers", "web_client"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BuiltApp:
    app: AsyncApp
    # The client the handlers post with (the adapter gives it a pooled session).
    client: AsyncWebClient
    # ``identity()`` checks the token at start.
    authorize: OnceAuthorize


def web_client(config: SlackConfig) -> AsyncWebClient:
    """The client answers are posted with."""
    return AsyncWebClient(token=config.bot_token, base_url=_with_slash(config.api_url), logger=_web_api_logger())


def build_app(
    config: SlackConfig, engine: Engine, client: AsyncWebClient, pipeline: AnswerPipeline, tasks: TaskSet
) -> BuiltApp:
    authorize = OnceAuthorize(client)
    # Bolt's own client carries no token: with ``authorize`` it sets the token on each
    # request's copy, and a token here too would only earn a "token unused" warning.
    bolt_client = AsyncWebClient(base_url=_with_slash(config.api_url))
    _quiet_token_unused_warning()
    app = AsyncApp(client=bolt_client, authorize=authorize, signing_secret=config.signing_secret,
                   name="chatwright", process_before_response=True)
    handlers = SlackHandlers(config, engine, client, pipeline, tasks)
    app.event("app_mention")(handlers.on_event)
    app.event("message")(handlers.on_event)
    _add_agent_experience(app, engine, client, pipeline)
    table = engine.commands.table
    for spec in slash_commands(table):
        app.command(f"/{spec.name}")(handlers.on_command)
    for name in hidden_commands(table):
        log.warning("slack: /%s is one of Slack's own commands, so it is not offered in Slack", name)
    app.error(handlers.on_error)
    return BuiltApp(app, client, authorize)


def _add_agent_experience(app: AsyncApp, engine: Engine, client: AsyncWebClient, pipeline: AnswerPipeline) -> None:
    """Slack's AI-app surface: agent-view events, feedback clicks, message shortcuts."""

    assistant = AssistantEvents(client, persona_lookup(engine))
    app.event("assistant_thread_started")(assistant.on_thread_started)
    app.event("app_home_opened")(assistant.on_home_opened)
    # Registered even with SLACK_FEEDBACK off: buttons on earlier answers still work.
    app.action(FEEDBACK_ACTION)(FeedbackHandler(engine, client).on_click)
    shortcuts = MessageShortcuts(client, pipeline)
    for shortcut in SHORTCUTS:
        app.shortcut(shortcut.callback_id)(shortcuts.on_shortcut)


class SlackHandlers:
    __slots__ = ("_config", "_engine", "_client", "_pipeline", "_tasks", "_admins")

    def __init__(
        self, config: SlackConfig, engine: Engine, client: AsyncWebClient, pipeline: AnswerPipeline, tasks: TaskSet
    ) -> None:
        self._config = config
        self._engine = engine
        self._client = client
        self._pipeline = pipeline
        self._tasks = tasks
        self._admins = AdminDirectory(client, config.admin_user_ids, config.admin_cache_seconds)

    async def on_event(self, body: dict[str, Any], event: MessageEvent, context: AsyncBoltContext) -> None:
        metrics.EVENTS_RECEIVED.labels("slack").inc()
        team_id = body.get("team_id") or context.team_id or ""
        decision = decide(event, team_id=team_id, bot_user_id=context.bot_user_id or "", config=self._config)
        if isinstance(decision, Ignore):
            log.debug("ignoring %s event %s: %s", event.get("type"), body.get("event_id"), decision.reason)
            return
        await self._take(decision)

    async def on_command(self, ack: AsyncAck, command: SlashCommand) -> None:
        metrics.EVENTS_RECEIVED.labels("slack").inc()
        problem = command_problem(command)  # checked here too: Socket Mode has no HTTP guard
        if problem:
            log.debug("ignoring a slash command: %s", problem)
            await ack(**ephemeral("Sorry, I couldn't read that command."))
            return
        is_admin = await self._is_admin(command["user_id"])
        result = await self._run(command_request(command, is_admin=is_admin))
        await ack(**response_for(result))

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error for Slack request %s", body.get("event_id") or body.get("command"), exc_info=error)

    async def _take(self, decision: Answer) -> None:
        """Record the question durably (before the ack) and start answering it. A
        retried or twin event stops at the record, also after a restart."""
        conversation = decision.message.conversation
        if decision.needs_history and not await self._engine.has_history(conversation):
            return
        command = _command_in(decision.message.text)
        if command is None or not self._pipeline.access.policy.decide(decision.message).allowed:
            # A refused user's ``@bot /forget`` is refused as their messages are, with
            # the polite line at most once an hour (it would be posted in the thread).
            await self._pipeline.accept(decision.message, route_of(decision.target))
        elif await self._engine.claim_event("slack", decision.claim_key):
            self._tasks.spawn(self._inline_command(decision, *command), name=f"slack-command:{decision.claim_key}")

    async def _inline_command(self, decision: Answer, name: str, args: str) -> None:
        """``@bot /forget`` inside a thread: slash commands carry no thread, this does."""
        message = decision.message
        request = CommandRequest(
            conversation=message.conversation,
            user_id=message.user_id,
            user_name=message.user_name,
            name=name,
            args=args,
            is_dm=message.is_dm,
            is_admin=await self._is_admin(message.user_id),
        )
        text = (await self._run(request)).text
        await post_text(self._client, decision.target, escape(text))

    async def _is_admin(self, user_id: str) -> bool:
        try:
            return await self._admins.is_admin(user_id)
        except Exception as exc:  # noqa: BLE001 - not knowing makes one not an admin
            log.warning("could not tell whether %s is a workspace admin: %s", user_id, exc)
            return False

    async def _run(self, request: CommandRequest) -> CommandResult:
        access = self._pipeline.access
        if is_help(request) and access.policy.decide(request).allowed:  # Slack's own help, where /help is Slack's
            return CommandResult(slack_help(self._engine.commands.table))
        return await run_command(self._engine, request, access)


def _command_in(text: str) -> tuple[str, str] | None:
    """``@bot /forget`` → ("forget", ""); ``@bot help`` is help too, as /help is Slack's."""
    if text.strip().lower() == "help":
        return "help", ""
    return parse_command_line(text)


def _web_api_logger() -> logging.Logger:
    """slack_sdk's logger, with its level set if nobody set it.

    The SDK formats debug lines with the request and response of every API call
    whenever ``logger.level <= DEBUG``, which an unset level (0) always is: about 15 µs
    a call (measured), for lines nobody sees. Set to the level in force, debug logging
    still shows them when it is on.
    """
    logger = logging.getLogger("slack_sdk.web.async_client")
    if logger.level == logging.NOTSET:
        logger.setLevel(logger.getEffectiveLevel())
    return logger


class _TokenUnusedFilter(logging.Filter):
    """Drops Bolt's "`token` will be unused" warning (see ``_quiet_token_unused_warning``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def _quiet_token_unused_warning() -> None:
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and, as we give it a
    client too, warns at every start that the token goes unused. Nothing is unused: the
    token is in our client and in ``authorize``. Only that one message is dropped."""
    logger = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _TokenUnusedFilter) for f in logger.filters):
        logger.addFilter(_TokenUnusedFilter())


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
