"""Discord's app commands, built from core's command table: a command with subcommands
becomes a group, each option a typed option (text a string, a flag a boolean, an integer
an integer, a choice a string with its choices, or autocomplete beyond Discord's 25).

Commands with a part for admins carry ``default_permissions(manage_guild=True)``: Discord
then offers them only to server managers (server admins may widen that in their
settings). It is a hint, not a guard: every command also checks the invoking member's
permissions, or ``ADMIN_USER_IDS``, and core refuses others. In a DM the commands act on
the user's own DM conversation. Each answer is ephemeral and deferred first, so Discord's
3-second deadline holds however slow the database is.

Every command is offered everywhere Discord allows (``offer_everywhere``): in servers, in
the DM with the bot and in private channels (group DMs, DMs between others), installed to
a server or by a user for themselves. A command's answer is an interaction follow-up,
which works in all of those, even where the bot is not a member.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Set
from typing import Any, TypeVar

import discord
from discord import app_commands

from adapters.common.access import AccessGate
from adapters.common.commands import run_command
from adapters.common.splitting import split_message
from adapters.discord.config import MESSAGE_LIMIT
from adapters.discord.events import conversation_of, member_roles, parent_channel
from adapters.discord.permissions import is_admin
from adapters.discord.replies import NO_MENTIONS
from core.commands import Arguments, CommandSpec, CommandTable, Option, TypedCommandRequest, help_text
from core.commands.spec import Value
from core.engine import Engine
from core.types import CommandRequest

__all__ = [
    "Runner", "add_commands", "app_command", "command_request", "discord_help", "offer_everywhere", "respond",
]

# Runs one core command for an interaction: (interaction, command name, its arguments).
Runner = Callable[[discord.Interaction, str, Arguments], Awaitable[None]]

_ADMIN_HINT = discord.Permissions(manage_guild=True)
_MAX_CHOICES = 25  # Discord takes at most this many choices, and shows as many suggestions
_TYPES: Mapping[str, type] = {"text": str, "choice": str, "flag": bool, "integer": int}
_HELP = "help"


def add_commands(tree: app_commands.CommandTree, run: Runner, table: Iterable[CommandSpec]) -> None:
    """Register the table's commands on ``tree`` (synced later, in ``setup_hook``)."""
    for spec in table:
        tree.add_command(app_command(spec, run))


def app_command(spec: CommandSpec, run: Runner) -> app_commands.Command[Any, ..., None] | app_commands.Group:
    hint = _ADMIN_HINT if spec.admin_only_somewhere else None
    if not spec.subcommands:
        command = _command(spec.name, spec.description, spec.options, _caller(run, spec.name, ""))
        command.default_permissions = hint
        return offer_everywhere(command)
    group = app_commands.Group(name=spec.name, description=spec.description, default_permissions=hint)
    for sub in spec.subcommands:
        group.add_command(_command(sub.name, sub.description, sub.options, _caller(run, spec.name, sub.name)))
    return offer_everywhere(group)


AppCommand = TypeVar("AppCommand", app_commands.Command[Any, ..., None], app_commands.Group, app_commands.ContextMenu)


def offer_everywhere(command: AppCommand) -> AppCommand:
    """Declare ``command`` for servers, the bot's DM and private channels, whether the app
    is installed to a server or by a user (synced as ``contexts`` and ``integration_types``).

    Without this Discord applies its defaults (server installs; servers and DMs), and a
    user who installed chatwright for themselves would not see the commands at all.
    """
    command.allowed_contexts = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True)
    command.allowed_installs = app_commands.AppInstallationType(guild=True, user=True)
    return command


def discord_help(table: CommandTable) -> str:
    """Help with options written as Discord shows them (``[workspace]``, not ``--workspace``)."""
    return help_text(table, flag_prefix="")


def command_request(
    *, name: str, arguments: Arguments, user_id: int, user_name: str, guild_id: int | None, channel_id: int,
    permissions: discord.Permissions | None, admin_ids: Set[str], role_ids: tuple[str, ...] = (),
    parent_channel: str = "",
) -> CommandRequest:
    return TypedCommandRequest(
        conversation=conversation_of(guild_id, channel_id),
        user_id=str(user_id),
        user_name=user_name,
        name=name,
        is_dm=guild_id is None,
        is_admin=is_admin(user_id, permissions if guild_id else None, admin_ids),
        arguments=arguments,
        role_ids=role_ids,
        parent_channel=parent_channel,
    )


async def respond(
    interaction: discord.Interaction, engine: Engine, admin_ids: Set[str], name: str, arguments: Arguments,
    *, access: AccessGate | None = None,
) -> None:
    """Defer at once, run the core command, answer ephemerally (split when long).
    ``access``: the adapter's gate (its pipeline's); a refused user gets the polite line."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    request = command_request(
        name=name, arguments=arguments, user_id=interaction.user.id, user_name=interaction.user.display_name,
        guild_id=interaction.guild_id, channel_id=interaction.channel_id or 0,
        permissions=interaction.permissions, admin_ids=admin_ids,
        role_ids=member_roles(interaction.user), parent_channel=parent_channel(interaction.channel),
    )
    if name == _HELP and (access is None or access.policy.decide(request).allowed):
        text = discord_help(engine.commands.table)
    else:
        # The user always gets an answer instead of "thinking…" forever.
        text = (await run_command(engine, request, access)).text
    for chunk in split_message(text, MESSAGE_LIMIT):
        await interaction.followup.send(chunk, ephemeral=True, allowed_mentions=NO_MENTIONS)


# -- one app command from a declaration --------------------------------------------------------
Caller = Callable[[discord.Interaction, dict[str, Value]], Awaitable[None]]


def _caller(run: Runner, name: str, subcommand: str) -> Caller:
    async def call(interaction: discord.Interaction, values: dict[str, Value]) -> None:
        await run(interaction, name, Arguments(subcommand, values))

    return call


def _command(
    name: str, description: str, options: tuple[Option, ...], call: Caller
) -> app_commands.Command[Any, ..., None]:
    async def callback(interaction: discord.Interaction, **given: Any) -> None:
        # Options left out arrive as their default: None, or False for a flag (an
        # integer 0 is a value: hence ``is``, not ``in (None, False)``).
        await call(interaction, {k: v for k, v in given.items() if v is not None and v is not False})

    # discord.py reads the options from the callback's signature and these attributes.
    callback.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [_parameter(option) for option in options]
    )
    if options:
        app_commands.describe(**{option.name: option.description for option in options})(callback)
    choices = {o.name: [app_commands.Choice(name=c, value=c) for c in o.choices]
               for o in options if 0 < len(o.choices) <= _MAX_CHOICES}
    if choices:
        app_commands.choices(**choices)(callback)
    suggested = {o.name: _suggestions(o.choices) for o in options if len(o.choices) > _MAX_CHOICES}
    if suggested:
        app_commands.autocomplete(**suggested)(callback)
    return app_commands.Command(name=name, description=description, callback=callback)


def _parameter(option: Option) -> inspect.Parameter:
    if option.required:
        default: Any = inspect.Parameter.empty
    else:
        default = False if option.type == "flag" else None
    # Keyword-only: a required option may follow an optional one (Discord lists required first).
    return inspect.Parameter(
        option.name, inspect.Parameter.KEYWORD_ONLY, annotation=_TYPES[option.type], default=default
    )


Suggest = Callable[[discord.Interaction, str], Awaitable[list[app_commands.Choice[str]]]]


def _suggestions(choices: tuple[str, ...]) -> Suggest:
    async def suggest(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = [name for name in choices if current.lower() in name.lower()]
        return [app_commands.Choice(name=name, value=name) for name in names[:_MAX_CHOICES]]

    return suggest
