"""``chatwright slack-manifest``: print the Slack app manifest to paste into api.slack.com.

Its slash commands are the command table's: the built-ins and those of the plugins that
``PLUGINS`` and the ``chatwright.plugins`` entry points name (loaded as at ``run``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from adapters.slack.adapter import EVENTS_PATH
from adapters.slack.manifest import build_manifest
from bots.settings import load_settings
from core.commands import CommandTable
from core.commands.builtin import builtin_commands
from core.errors import ConfigurationError
from core.plugins.loading import load_plugins
from core.tools.registry import ToolRegistry

__all__ = ["NAME", "HELP", "add_arguments", "command_table", "run", "to_yaml"]

NAME = "slack-manifest"
HELP = "Print the Slack app manifest (scopes, events, slash commands) for Socket or HTTP mode."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--socket", action="store_true", help="Socket Mode (the default)")
    mode.add_argument(
        "--http", metavar="URL", help=f"HTTP mode: the public base URL; events go to URL{EVENTS_PATH}"
    )
    parser.add_argument("--name", default="chatwright", help="app and bot name (default: chatwright)")
    parser.add_argument("--format", choices=("json", "yaml"), default="json")


def run(args: argparse.Namespace) -> int:
    manifest = build_manifest(request_url=_request_url(args.http), name=args.name, commands=command_table())
    print(to_yaml(manifest) if args.format == "yaml" else json.dumps(manifest, indent=2))
    return 0


def command_table() -> CommandTable:
    """The built-in commands and the plugins' (their tools are loaded but not used here)."""
    table = CommandTable(builtin_commands())
    load_plugins(load_settings().plugins, ToolRegistry(), table)
    return table


def _request_url(base: str | None) -> str | None:
    if base is None:
        return None
    if not base.startswith("https://"):
        raise ConfigurationError(f"--http needs an https:// URL that Slack can reach, not {base!r}")
    base = base.rstrip("/")
    return base if base.endswith(EVENTS_PATH) else base + EVENTS_PATH


def to_yaml(value: Any, indent: int = 0) -> str:
    """A small YAML writer for the manifest (dicts, lists, scalars); strings are JSON-quoted,
    which YAML reads as they are, so no escaping rules of our own are needed."""
    return "\n".join(_yaml_lines(value, indent))


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        return [line for key, item in value.items() for line in _yaml_entry(f"{pad}{key}:", item, indent)]
    if isinstance(value, list):
        return [line for item in value for line in _yaml_entry(f"{pad}-", item, indent)]
    return [pad + json.dumps(value)]


def _yaml_entry(head: str, item: Any, indent: int) -> list[str]:
    if isinstance(item, (dict, list)) and item:
        return [head, *_yaml_lines(item, indent + 2)]
    scalar = "[]" if item == [] else "{}" if item == {} else json.dumps(item)
    return [f"{head} {scalar}"]
