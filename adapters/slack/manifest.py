"""The Slack app manifest: exactly the scopes, events and commands chatwright uses.
The slash commands come from core's command table (``slash_commands``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.slack.commands import slash_commands
from core.commands import CommandSpec, usage
from core.commands.builtin import builtin_commands

__all__ = ["BOT_SCOPES", "BOT_EVENTS", "build_manifest", "usage_hint"]

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
)
BOT_EVENTS = ("app_mention", "message.channels", "message.groups", "message.im")


def build_manifest(
    *, request_url: str | None = None, name: str = "chatwright", commands: Iterable[CommandSpec] | None = None
) -> dict[str, Any]:
    """Socket Mode when ``request_url`` is None; else HTTP mode at ``request_url``.
    ``commands``: the command table (default: the built-in commands)."""
    specs = slash_commands(builtin_commands() if commands is None else commands)
    return {
        "display_information": {
            "name": name,
            "description": "An LLM assistant with memory and per-channel personas.",
        },
        "features": {
            # The Messages tab lets people DM the bot.
            "app_home": {"messages_tab_enabled": True, "messages_tab_read_only_enabled": False},
            "bot_user": {"display_name": name, "always_online": True},
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
