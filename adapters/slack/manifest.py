"""The Slack app manifest: exactly the scopes, events and commands chatwright uses.
The slash commands come from core's command table (``slash_commands``).

The app is an AI app ("Agents & AI Apps", ``features.assistant_view``) by default: it is
what the ``assistant:write`` scope needs (suggested prompts), it puts chatwright in
Slack's side panel, and it sends ``assistant_thread_started``. An app without it still
works; its status line and prompts are refused once and then left out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.slack.commands import slash_commands
from adapters.slack.shortcuts import SHORTCUTS
from core.commands import CommandSpec, usage
from core.commands.builtin import builtin_commands

__all__ = ["BOT_SCOPES", "BOT_EVENTS", "build_manifest", "usage_hint"]

_DESCRIPTION = "An LLM assistant with memory and per-channel personas."

BOT_SCOPES = (
    "app_mentions:read",  # app_mention events
    "channels:history",  # message.channels: follow-ups in public channel threads
    "groups:history",  # message.groups: follow-ups in private channel threads
    "im:history",  # message.im: direct messages
    "chat:write",  # posting and updating answers
    "commands",  # the slash commands
    "users:read",  # users.info: is this user a workspace admin or owner?
    # Downloading the files people share with a question; without it Slack serves its
    # sign-in page instead of the file (adapters/slack/files.py).
    "files:read",
    # assistant.threads.setSuggestedPrompts in DMs (the status line needs only chat:write).
    "assistant:write",
)
BOT_EVENTS = (
    "app_mention", "message.channels", "message.groups", "message.im",
    "assistant_thread_started",  # a DM thread opened in the side panel: suggested prompts
    "app_home_opened",  # the Messages tab opened (the agent view's DM)
)


def build_manifest(
    *, request_url: str | None = None, name: str = "chatwright", commands: Iterable[CommandSpec] | None = None
) -> dict[str, Any]:
    """Socket Mode when ``request_url`` is None; else HTTP mode at ``request_url``.
    ``commands``: the command table (default: the built-in commands)."""
    specs = slash_commands(builtin_commands() if commands is None else commands)
    return {
        "display_information": {
            "name": name,
            "description": _DESCRIPTION,
        },
        "features": {
            # The Messages tab lets people DM the bot.
            "app_home": {"messages_tab_enabled": True, "messages_tab_read_only_enabled": False},
            "bot_user": {"display_name": name, "always_online": True},
            "assistant_view": {"assistant_description": _DESCRIPTION},
            "shortcuts": [
                {"name": s.name, "type": "message", "callback_id": s.callback_id, "description": s.description}
                for s in SHORTCUTS
            ],
            "slash_commands": [_command(spec, request_url) for spec in specs],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": _settings(request_url),
    }


def usage_hint(spec: CommandSpec) -> str:
    """What Slack shows after the command as it is typed: ``show [--workspace] | set
    [--workspace] <text> | …``; "" for a command without arguments."""
    prefix = f"/{spec.name}"
    return " | ".join(usage(spec, part).removeprefix(prefix).strip() for part in spec.parts).strip(" |")


def _command(spec: CommandSpec, request_url: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"command": f"/{spec.name}", "description": spec.description, "should_escape": False}
    hint = usage_hint(spec)
    if hint:
        entry["usage_hint"] = hint
    if request_url:
        entry["url"] = request_url
    return entry


def _settings(request_url: str | None) -> dict[str, Any]:
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if request_url:
        events["request_url"] = request_url
        interactivity["request_url"] = request_url
    return {
        "event_subscriptions": events,
        "interactivity": interactivity,
        "org_deploy_enabled": False,
        "socket_mode_enabled": request_url is None,
        "token_rotation_enabled": False,
    }
