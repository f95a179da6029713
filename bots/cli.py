"""The ``chatwright`` command. Each subcommand lives in ``bots/cli_commands/<name>.py``.

A subcommand module offers ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int`` (an async ``run`` is awaited). Errors in chatwright's own tree, and
OS errors such as a port in use, end as one line on stderr saying what to fix (see
``bots/startup_errors.py``) and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import os
import sys
from collections.abc import Sequence

from bots.event_loop import new_event_loop
from bots.settings import InvalidSettings
from bots.startup_errors import configured_secrets, startup_error_line
from core.errors import ChatwrightError

__all__ = ["main", "build_parser"]

_SUBCOMMANDS = ("run", "console", "doctor", "slack_manifest", "discord_invite")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatwright",
        description="An LLM assistant for Slack and Discord with memory and per-channel personas.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in _SUBCOMMANDS:
        module = importlib.import_module(f"bots.cli_commands.{module_name}")
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.handler(args)
        if inspect.isawaitable(result):
            with asyncio.Runner(loop_factory=new_event_loop) as runner:
                result = runner.run(result)
        return int(result or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``chatwright slack-manifest | head``): not an error of
        # ours. Point stdout at devnull so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except InvalidSettings as exc:
        for problem in exc.problems:  # every invalid setting, one line each
            print(f"chatwright: {problem}", file=sys.stderr)
        return 2
    except (ChatwrightError, OSError) as exc:
        # An operator's problem (a setting, the database, a port in use): one line on
        # what to fix. OSError too, since a socket or a file refused at start-up is one.
        print(f"chatwright: {startup_error_line(exc, configured_secrets())}", file=sys.stderr)
        return 2


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chatwright")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
