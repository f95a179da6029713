"""App commands built from declarations: typed parameters, choices or autocomplete."""

from __future__ import annotations

from typing import Any

from discord import AppCommandOptionType, app_commands

from adapters.discord.commands import app_command
from core.commands import Arguments, CommandSpec, Option, Subcommand


async def _noop(ctx: Any, **values: Any) -> str:  # pragma: no cover - never run here
    return ""


async def _run(interaction: Any, name: str, arguments: Arguments) -> None:  # pragma: no cover
    pass


def test_option_types_and_many_choices_become_autocomplete() -> None:
    many = tuple(f"p{i}" for i in range(30))
    spec = CommandSpec("pick", "Pick", _noop, options=(
        Option("count", "How many", type="integer", required=True),
        Option("few", "Few", type="choice", choices=("a", "b")),
        Option("many", "Many", type="choice", choices=many),
        Option("loud", "Loud", type="flag"),
    ))
    command = app_command(spec, _run)
    assert isinstance(command, app_commands.Command) and command.default_permissions is None
    params = {p.name: p for p in command.parameters}
    assert (params["count"].type, params["count"].required) == (AppCommandOptionType.integer, True)
    assert [c.value for c in params["few"].choices] == ["a", "b"] and not params["few"].autocomplete
    assert params["many"].autocomplete and not params["many"].choices
    assert (params["loud"].type, params["loud"].required) == (AppCommandOptionType.boolean, False)
    assert params["count"].description == "How many"


def test_subcommands_become_a_group_with_the_admin_hint_when_any_part_is_for_admins() -> None:
    spec = CommandSpec("notes", "Notes", subcommands=(
        Subcommand("read", "Read", _noop),
        Subcommand("wipe", "Wipe", _noop, access="admins in shared channels"),
    ))
    group = app_command(spec, _run)
    assert isinstance(group, app_commands.Group)
    assert [c.name for c in group.commands] == ["read", "wipe"]
    assert group.default_permissions is not None and group.default_permissions.manage_guild
