"""Slash commands (``/persona``, ``/forget``, ``/usage``) → core ``CommandRequest``,
and core results → the slash-command response Slack shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NotRequired, TypedDict

from adapters.slack.fields import is_id, is_optional_text
from adapters.slack.mrkdwn import escape
from core.types import CommandRequest, CommandResult, ConversationRef

__all__ = [
    "SLASH_COMMANDS", "SlashCommand", "SlashResponse", "command_problem", "command_request", "response_for", "ephemeral",
]

# Slack slash command → core command name. ``/help`` is left to Slack itself; the
# same text is at ``/persona help``.
SLASH_COMMANDS = {
    "/persona": ("persona", "Show or change this channel's persona", "show | set <text> | use <preset> | reset | list | history"),
    "/forget": ("forget", "Clear the memory of this conversation", ""),
    "/usage": ("usage", "Tokens this channel used today and in total", ""),
}


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
    """The core request for a payload that ``command_problem`` passed."""
    name = SLASH_COMMANDS[payload["command"]][0]
    args = (payload.get("text") or "").strip()
    if name == "persona" and args.lower() == "help":
        name, args = "help", ""
    is_dm = _is_dm(payload)
    return CommandRequest(
        # Slash commands carry no thread: they act on the channel (or the DM).
        conversation=ConversationRef("slack", payload["team_id"], payload["channel_id"], ""),
        user_id=payload["user_id"],
        user_name=payload.get("user_name") or payload["user_id"],
        name=name,
        args=args,
        is_dm=is_dm,
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
