"""The manifest's slash commands come from the command table, a plugin's too."""

from __future__ import annotations

import json

from adapters.slack.commands import command_request, slack_help, slash_commands
from adapters.slack.manifest import build_manifest, usage_hint
from bots.cli import main
from core.commands import CommandTable
from core.commands.builtin import builtin_commands
from tests.core.commands.deploy_plugin import deploy


def _table() -> CommandTable:
    return CommandTable([*builtin_commands(["concise"]), deploy.spec])


def test_each_command_of_the_table_but_help_with_a_usage_hint_from_its_options():
    commands = {c["command"]: c for c in build_manifest(commands=_table())["features"]["slash_commands"]}
    assert list(commands) == ["/persona", "/model", "/tools", "/forget", "/usage", "/deploy"]
    assert commands["/persona"]["usage_hint"] == (
        "show [--workspace] | set [--workspace] <text> | use [--workspace] <concise> | reset [--workspace] | list"
        " | history [--workspace]")
    assert commands["/tools"]["usage_hint"] == "list | enable <name> | disable <name> | reset | history"
    assert commands["/deploy"] == {"command": "/deploy", "description": "Deploy a service", "should_escape": False,
                                   "usage_hint": "<service> [staging|prod] [--dry_run]"}
    assert "usage_hint" not in commands["/usage"]


def test_usage_hint_of_a_command_without_options_is_empty():
    assert usage_hint(next(s for s in builtin_commands() if s.name == "forget")) == ""


def test_slack_help_says_how_to_get_it_and_lists_no_help_command():
    text = slack_help(_table())
    assert "  /help " not in text and "/deploy <service>" in text and "/tools enable <name>" in text
    assert text.endswith("Slack keeps /help for itself: for this text, use /persona help, or mention me with help.")
    assert [s.name for s in slash_commands(_table())] == ["persona", "model", "tools", "forget", "usage", "deploy"]


def test_persona_help_is_help_and_other_names_pass_through():
    payload = {"command": "/persona", "text": " HELP ", "user_id": "U1", "channel_id": "C1", "team_id": "T1"}
    assert (command_request(payload, is_admin=False).name, command_request(payload, is_admin=False).args) == ("help", "")
    payload.update(command="/deploy", text="api --dry_run")
    assert (command_request(payload, is_admin=True).name, command_request(payload, is_admin=True).args) == (
        "deploy", "api --dry_run")


def test_the_cli_manifest_includes_the_plugins_commands(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the repository's
    monkeypatch.setenv("PLUGINS", "tests.core.commands.deploy_plugin")
    assert main(["slack-manifest"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert "/deploy" in [c["command"] for c in manifest["features"]["slash_commands"]]


def test_the_cli_manifest_without_plugins(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLUGINS", raising=False)
    assert main(["slack-manifest"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert "/deploy" not in [c["command"] for c in manifest["features"]["slash_commands"]]
