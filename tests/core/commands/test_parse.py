"""Typed arguments from a line, and typed arguments checked, against declarations."""

from __future__ import annotations

import pytest

from core.commands import Arguments, CommandSpec, Option, Subcommand, check_arguments, parse_arguments, usage
from core.commands.parse import parse_command_line
from core.errors import CommandError


async def _noop(ctx, **values):  # pragma: no cover - never run here
    return ""


FLAG = Option("workspace", "Workspace-wide", type="flag")
PERSONA = CommandSpec("persona", "Persona", default="show", subcommands=(
    Subcommand("show", "Show", _noop, options=(FLAG,)),
    Subcommand("set", "Set", _noop, options=(FLAG, Option("text", "Prompt", required=True))),
    Subcommand("use", "Use", _noop, options=(FLAG, Option("preset", "Preset", type="choice", required=True,
                                                          choices=("concise", "pirate")))),
))
DEPLOY = CommandSpec("deploy", "Deploy", _noop, options=(
    Option("service", "Which", required=True),
    Option("replicas", "How many", type="integer"),
    Option("note", "Why"),
    Option("dry-run", "Pretend", type="flag"),
))


@pytest.mark.parametrize(("line", "expected"), [
    ("", Arguments("show")),
    ("SHOW", Arguments("show")),
    ("show --workspace", Arguments("show", {"workspace": True})),
    ("set Be brief.", Arguments("set", {"text": "Be brief."})),
    ("set --workspace Be brief.", Arguments("set", {"text": "Be brief.", "workspace": True})),
    # The last text option takes the rest as it is: a "--" inside the prompt stays.
    ("set Explain --workspace  flags", Arguments("set", {"text": "Explain --workspace  flags"})),
    ("use PIRATE --workspace", Arguments("use", {"preset": "pirate", "workspace": True})),
])
def test_persona_lines(line, expected):
    assert parse_arguments(PERSONA, line) == expected


@pytest.mark.parametrize(("line", "values"), [
    ("api", {"service": "api"}),
    ("api 3", {"service": "api", "replicas": 3}),
    ("--dry-run api 3 a slow roll-out", {"service": "api", "replicas": 3, "note": "a slow roll-out", "dry-run": True}),
    ("api --DRY_RUN", {"service": "api", "dry-run": True}),
])
def test_options_fill_in_order(line, values):
    assert parse_arguments(DEPLOY, line) == Arguments("", values)


@pytest.mark.parametrize(("spec", "line", "message"), [
    (PERSONA, "fly", "Unknown /persona action 'fly'. Try /help."),
    (PERSONA, "set", "Usage: /persona set [--workspace] <text>"),
    (PERSONA, "set --workspce x", "/persona set has no option --workspce. Usage: /persona set [--workspace] <text>"),
    (PERSONA, "use ninja", "No preset called 'ninja'. Choose one of: concise, pirate."),
    (PERSONA, "show extra", "Too many words after /persona show. Usage: /persona show [--workspace]"),
    (DEPLOY, "", "Usage: /deploy <service> [replicas] [note] [--dry-run]"),
    (DEPLOY, "api many", "replicas must be a whole number, not 'many'."),
])
def test_lines_that_do_not_fit_say_how_to_write_them(spec, line, message):
    with pytest.raises(CommandError) as raised:
        parse_arguments(spec, line)
    assert str(raised.value) == message


def test_a_command_without_a_default_subcommand_needs_one():
    spec = CommandSpec("tools", "Tools", subcommands=(Subcommand("list", "List", _noop),))
    with pytest.raises(CommandError, match=r"Usage: /tools list"):
        parse_arguments(spec, "")


def test_typed_arguments_are_checked_like_a_line():
    assert check_arguments(PERSONA, Arguments("use", {"preset": "Pirate", "workspace": True})) == Arguments(
        "use", {"preset": "pirate", "workspace": True})
    # A flag left off arrives as False: the same as not given.
    assert check_arguments(PERSONA, Arguments("show", {"workspace": False})) == Arguments("show")
    assert check_arguments(PERSONA, Arguments("", {"workspace": True})) == Arguments("show", {"workspace": True})
    assert check_arguments(DEPLOY, Arguments("", {"service": " api ", "replicas": 2})).values == {"service": "api", "replicas": 2}


@pytest.mark.parametrize(("spec", "arguments", "message"), [
    (PERSONA, Arguments("fly"), "Unknown /persona action 'fly'"),
    (PERSONA, Arguments("set", {}), "Usage: /persona set"),
    (PERSONA, Arguments("set", {"text": "x", "colour": "red"}), "has no option 'colour'"),
    (PERSONA, Arguments("set", {"text": "x", "workspace": "yes"}), "is on or off"),
    (PERSONA, Arguments("use", {"preset": "ninja"}), "No preset called 'ninja'"),
    (DEPLOY, Arguments("", {"service": True}), "is not a value"),
])
def test_typed_arguments_that_do_not_fit(spec, arguments, message):
    with pytest.raises(CommandError, match=message):
        check_arguments(spec, arguments)


def test_text_values_are_scrubbed_like_messages():
    # A lone surrogate (which no database stores) becomes U+FFFD, as in messages.
    assert parse_arguments(PERSONA, "set a\ud800b").values["text"] == "a\ufffdb"
    assert check_arguments(PERSONA, Arguments("set", {"text": "a\ud800b"})).values["text"] == "a\ufffdb"


def test_usage_lines():
    assert usage(PERSONA, PERSONA.subcommand("use")) == "/persona use [--workspace] <concise|pirate>"
    assert usage(PERSONA, PERSONA.subcommand("set"), flag_prefix="") == "/persona set [workspace] <text>"


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("/persona set Be nice.", ("persona", "set Be nice.")),
        ("/FORGET", ("forget", "")),
        ("/usage   ", ("usage", "")),
        ("hello /persona", None),
        ("/", None),
        ("/ persona", None),
    ],
)
def test_parse_command_line(line, parsed):
    assert parse_command_line(line) == parsed
