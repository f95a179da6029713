"""Declarations are checked when made; the table holds each name once; help comes from it."""

from __future__ import annotations

import pytest

from core.commands import ADMINS, CommandSpec, CommandTable, Option, Subcommand, help_text
from core.commands.builtin import builtin_commands
from core.errors import ConfigurationError


async def _noop(ctx, **values):  # pragma: no cover - never run here
    return ""


@pytest.mark.parametrize(("declare", "message"), [
    (lambda: CommandSpec("Deploy", "Deploy", _noop), "lowercase"),
    (lambda: CommandSpec("deploy", "x" * 101, _noop), "1-100 characters"),
    (lambda: CommandSpec("deploy", "Deploy"), "a handler or subcommands"),
    (lambda: CommandSpec("deploy", "Deploy", _noop, subcommands=(Subcommand("a", "A", _noop),)), "not both"),
    (lambda: CommandSpec("deploy", "Deploy", default="b", subcommands=(Subcommand("a", "A", _noop),)), "default 'b'"),
    (lambda: CommandSpec("deploy", "Deploy", _noop, options=(Option("a", "A"), Option("a", "B"))), "same name"),
    (lambda: CommandSpec("deploy", "Deploy", _noop, options=(Option("a", "A"), Option("b", "B", required=True))),
     "required option 'b' comes after optional 'a'"),
    (lambda: CommandSpec("deploy", "Deploy", _noop, options=[Option(f"o{i}", "O") for i in range(26)]), "at most 25"),
    (lambda: Option("on", "On", type="flag", required=True), "cannot be required"),
    (lambda: Option("env", "Env", choices=("a",)), "only a choice has choices"),
])
def test_declarations_are_checked(declare, message):
    with pytest.raises(ValueError, match=message):
        declare()


def test_the_table_keeps_one_command_per_name():
    deploy = CommandSpec("deploy", "Deploy", _noop)
    table = CommandTable(builtin_commands())
    table.add(deploy)
    table.add(deploy)  # the same declaration again (imported twice) is harmless
    assert table.names() == ["persona", "model", "tools", "forget", "usage", "help", "deploy"]
    with pytest.raises(ConfigurationError, match="two commands are called /deploy"):
        table.add(CommandSpec("deploy", "Another", _noop))
    with pytest.raises(ConfigurationError, match="two commands are called /usage"):
        table.add(CommandSpec("usage", "Mine", _noop))
    assert table.get("DEPLOY") is deploy and "deploy" in table and len(table) == 7


def test_help_lists_every_part_of_every_command_with_its_usage():
    deploy = CommandSpec("deploy", "Deploy a service", _noop, access=ADMINS,
                         options=(Option("service", "Which", required=True), Option("fast", "Skip checks", type="flag")))
    table = CommandTable([*builtin_commands(["pirate"]), deploy])
    text = help_text(table)
    for spec in table:
        for part in spec.parts:
            assert part.description in text
    lines = text.splitlines()
    assert "  /persona set [--workspace] <text>" in text
    assert any(line.startswith("  /persona use [--workspace] <pirate> ") for line in lines)
    assert any(line.startswith("  /deploy <service> [--fast] ") and line.endswith("Deploy a service **") for line in lines)
    assert any(line.startswith("  /forget ") and line.endswith(" *") for line in lines)
    assert "  --workspace: The default of the whole workspace/server, not this channel's" in lines
    assert "  --fast: Skip checks" in lines
    assert lines[-2:] == ["* only admins, in shared channels (in a DM, you may).", "** only admins, in DMs too."]


def test_help_leaves_out_what_a_platform_keeps_and_writes_flags_its_way():
    text = help_text(builtin_commands(), exclude={"help"}, flag_prefix="", note="Ask me.")
    assert "/help" not in text and "[workspace]" in text and "--workspace" not in text
    assert text.endswith("\nAsk me.")
