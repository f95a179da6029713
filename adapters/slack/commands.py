"""Slash commands → core ``CommandRequest``, and core results → the slash-command
response Slack shows. Which commands Slack gets comes from core's command table.

Slack keeps some command names for itself (``/help``, ``/remind``, …): those of the table
are left out of the manifest, and help here says how to reach it instead: ``/persona
help``, or a mention with "help" (or ``/help``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NotRequired, TypedDict

from adapters.slack.fields import is_id, is_optional_text
from adapters.slack.mrkdwn import escape
from core.commands import CommandSpec, CommandTable, help_text
from core.types import CommandRequest, CommandResult, ConversationRef

__all__ = [
    "SLACK_HELP_NOTE", "SLACK_RESERVED", "SlashCommand", "SlashResponse", "command_problem", "command_request",
    "ephemeral", "hidden_commands", "is_help", "response_for", "slack_help", "slash_commands",
]

# Slack's own slash commands: an app cannot have them.
SLACK_RESERVED = frozenset({
    "active", "away", "call", "collapse", "dm", "dnd", "expand", "feed", "feedback", "giphy", "help", "invite",
    "join", "leave", "me", "msg", "mute", "open", "prefs", "remind", "remove", "kick", "rename", "search",
    "shortcuts", "shrug", "star", "status", "topic", "who",
})
_HELP = "help"
# ``/persona help``: help in Slack, where ``/help`` is Slack's.
_HELP_VIA = "persona"
SLACK_HELP_NOTE = "Slack keeps /help for itself: for this text, use /persona help, or mention me with help."


class SlashCommand(TypedDict):
    """The fields of a slash-command payload that the adapter reads."""

    command: str
    text: str
    user_id: str
    channel_id: str
    team_id: str
    user_name: NotRequired[str]
    channel_name: NotRequired[str]


# ``SlashCommand``'s fields: Slack sends them all as form fields, so as text. A signed
# JSON body could still carry anything, or leave one out.
_ID_FIELDS = ("command", "user_id", "channel_id", "team_id")
_TEXT_FIELDS = ("text", "user_name", "channel_name")


class SlashResponse(TypedDict):
    response_type: str
    text: str


def slash_commands(table: Iterable[CommandSpec]) -> list[CommandSpec]:
    """The commands Slack gets: the table's, but those Slack keeps for itself."""
    return [spec for spec in table if spec.name not in SLACK_RESERVED]


def hidden_commands(table: Iterable[CommandSpec]) -> list[str]:
    """The table's commands Slack cannot have (``/help`` aside, which has its stand-in)."""
    return [spec.name for spec in table if spec.name in SLACK_RESERVED and spec.name != _HELP]


def slack_help(table: CommandTable) -> str:
    return help_text(slash_commands(table), note=SLACK_HELP_NOTE)


def is_help(request: CommandRequest) -> bool:
    return request.name == _HELP


def command_problem(payload: Mapping[str, object]) -> str:
    """Why a slash-command payload cannot be served ("" when it can): an id missing or
    not an id, or a text field that is not text."""
    for name in _ID_FIELDS:
        if not is_id(payload.get(name)):
            return f"slash command without a valid {name}"
    for name in _TEXT_FIELDS:
        if not is_optional_text(payload.get(name)):
            return f"slash command whose {name} is not text"
    return ""


def command_request(payload: SlashCommand, *, is_admin: bool) -> CommandRequest:
    """The core request for a payload that ``command_problem`` passed; its text is
    parsed by core against the command's declaration."""
    name = payload["command"].removeprefix("/").lower()
    args = (payload.get("text") or "").strip()
    if name == _HELP_VIA and args.lower() == _HELP:
        name, args = _HELP, ""
    return CommandRequest(
        # Slash commands carry no thread: they act on the channel (or the DM).
        conversation=ConversationRef("slack", payload["team_id"], payload["channel_id"], ""),
        user_id=payload["user_id"],
        user_name=payload.get("user_name") or payload["user_id"],
        name=name,
        args=args,
        is_dm=_is_dm(payload),
        is_admin=is_admin,
    )


def response_for(result: CommandResult) -> SlashResponse:
    """Changes are announced to the channel; lookups and refusals stay with the user."""
    kind = "in_channel" if result.changed else "ephemeral"
    return SlashResponse(response_type=kind, text=escape(result.text))


def ephemeral(text: str) -> SlashResponse:
    return SlashResponse(response_type="ephemeral", text=escape(text))


def _is_dm(payload: SlashCommand) -> bool:
    return payload["channel_id"].startswith("D") or payload.get("channel_name") == "directmessage"
