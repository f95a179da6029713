"""The slash commands: ``/persona …``, ``/forget``, ``/usage``, ``/help`` → core commands.

``/persona`` and ``/forget`` carry ``default_permissions(manage_guild=True)``: Discord then
offers them only to server managers (server admins may widen that in their settings). It
is a hint, not a guard, so every command also checks the invoking member's permissions,
or ``ADMIN_USER_IDS``, and core refuses changes from others. In a DM the commands act on
the user's own DM conversation. Each answer is ephemeral and deferred first, so Discord's
3-second deadline holds however slow the database is.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Set

import discord
from discord import app_commands

from adapters.common.commands import run_command
from adapters.common.splitting import split_message
from adapters.discord.config import MESSAGE_LIMIT
from adapters.discord.events import conversation_of
from adapters.discord.permissions import is_admin
from adapters.discord.replies import NO_MENTIONS
from core.engine import Engine
from core.types import CommandRequest

__all__ = ["Runner", "add_commands", "command_request", "persona_args", "respond"]

log = logging.getLogger(__name__)

# Runs one core command for an interaction: (interaction, command name, arguments).
Runner = Callable[[discord.Interaction, str, str], Awaitable[None]]

_ADMIN_HINT = discord.Permissions(manage_guild=True)
_WORKSPACE_FLAG = "--workspace"
_MAX_CHOICES = 25  # Discord shows at most this many autocomplete choices


def persona_args(action: str, text: str = "", server_wide: bool = False) -> str:
    """``/persona set`` options → core's argument line, e.g. ``set --workspace Be brief.``"""
    parts = [action, _WORKSPACE_FLAG if server_wide else "", text]
    return " ".join(part for part in parts if part)


def command_request(
    *, name: str, args: str, user_id: int, user_name: str, guild_id: int | None, channel_id: int,
    permissions: discord.Permissions | None, admin_ids: Set[str],
) -> CommandRequest:
    return CommandRequest(
        conversation=conversation_of(guild_id, channel_id),
        user_id=str(user_id),
        user_name=user_name,
        name=name,
        args=args,
        is_dm=guild_id is None,
        is_admin=is_admin(user_id, permissions if guild_id else None, admin_ids),
    )


async def respond(interaction: discord.Interaction, engine: Engine, admin_ids: Set[str], name: str, args: str) -> None:
    """Defer at once, run the core command, answer ephemerally (split when long)."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    request = command_request(
        name=name, args=args, user_id=interaction.user.id, user_name=interaction.user.display_name,
        guild_id=interaction.guild_id, channel_id=interaction.channel_id or 0,
        permissions=interaction.permissions, admin_ids=admin_ids,
    )
    # The user always gets an answer instead of "thinking…" forever.
    text = (await run_command(engine, request)).text
    for chunk in split_message(text, MESSAGE_LIMIT):
        await interaction.followup.send(chunk, ephemeral=True, allowed_mentions=NO_MENTIONS)


class _PersonaGroup(app_commands.Group):
    """``/persona show|set|use|reset|list|history``."""

    def __init__(self, run: Runner, presets: Iterable[str]) -> None:
        super().__init__(
            name="persona", description="This channel's persona (system prompt)", default_permissions=_ADMIN_HINT
        )
        self._run = run
        self._presets = sorted(presets)

    @app_commands.command(description="Show the persona in force here")
    async def show(self, interaction: discord.Interaction) -> None:
        await self._run(interaction, "persona", "show")

    @app_commands.command(name="set", description="Give this channel a persona of your own")
    @app_commands.describe(text="The system prompt", server_wide="Set the default of the whole server")
    async def set_(self, interaction: discord.Interaction, text: str, server_wide: bool = False) -> None:
        await self._run(interaction, "persona", persona_args("set", text, server_wide))

    @app_commands.command(description="Use a preset persona (see /persona list)")
    @app_commands.describe(preset="The preset's name", server_wide="Set the default of the whole server")
    async def use(self, interaction: discord.Interaction, preset: str, server_wide: bool = False) -> None:
        await self._run(interaction, "persona", persona_args("use", preset, server_wide))

    @use.autocomplete("preset")
    async def _preset_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = [name for name in self._presets if current.lower() in name.lower()]
        return [app_commands.Choice(name=name, value=name) for name in names[:_MAX_CHOICES]]

    @app_commands.command(description="Go back to the default persona")
    @app_commands.describe(server_wide="Reset the default of the whole server")
    async def reset(self, interaction: discord.Interaction, server_wide: bool = False) -> None:
        await self._run(interaction, "persona", persona_args("reset", "", server_wide))

    @app_commands.command(name="list", description="The preset personas")
    async def list_(self, interaction: discord.Interaction) -> None:
        await self._run(interaction, "persona", "list")

    @app_commands.command(description="Who changed the persona here, and when")
    async def history(self, interaction: discord.Interaction) -> None:
        await self._run(interaction, "persona", "history")


def _simple(run: Runner, name: str, description: str, admin_hint: bool) -> app_commands.Command:
    async def callback(interaction: discord.Interaction) -> None:
        await run(interaction, name, "")

    command = app_commands.Command(name=name, description=description, callback=callback)
    if admin_hint:
        command.default_permissions = _ADMIN_HINT
    return command


def add_commands(tree: app_commands.CommandTree, run: Runner, presets: Iterable[str]) -> None:
    """Register chatwright's slash commands on ``tree`` (synced later, in ``setup_hook``)."""
    tree.add_command(_PersonaGroup(run, presets))
    tree.add_command(_simple(run, "forget", "Clear this conversation's memory", admin_hint=True))
    tree.add_command(_simple(run, "usage", "Tokens used by this channel", admin_hint=False))
    tree.add_command(_simple(run, "help", "What I do, and my commands", admin_hint=False))
