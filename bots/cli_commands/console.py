"""``chatwright console``: chat with the bot in a terminal, or answer piped lines."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from adapters.console import ConsoleAdapter, ConsoleConfig
from bots.app import running_engine
from bots.logs import configure_logging
from bots.settings import load_settings

if TYPE_CHECKING:
    from adapters.console.prompt import PromptReader

NAME = "console"
HELP = "chat with the bot in this terminal (memory persists across runs)"
# Piped input with an answer that failed: scripts can tell.
EXIT_ANSWER_FAILED = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-admin", action="store_true", help="act as a non-admin user")
    parser.add_argument("--channel", default="console", help="conversation name (default: console)")
    parser.add_argument("--user", default=None, help="your display name (default: login name)")
    parser.add_argument(
        "--history", default="~/.chatwright_history", metavar="PATH",
        help="where typed messages are kept for Up/Down (default: ~/.chatwright_history)",
    )
    parser.add_argument("--no-history", action="store_true", help="keep no history file")


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging("WARNING", settings.secret_values(), settings.log_format)
    name = args.user or _login_name()
    config = ConsoleConfig(
        user_id=f"console:{name}",
        user_name=name,
        channel=args.channel,
        is_admin=not args.no_admin,
        interactive=sys.stdin.isatty(),
    )
    # Not the single writer: a console may run beside `chatwright run` on the same
    # database. Its conversations and personas are its own channel's, so the bot's
    # caches never hold what it writes, and its own store reads the file every time.
    async with running_engine(settings, single_writer=False) as engine:
        if config.interactive:
            print("chatwright console — /help for commands, /quit or Ctrl-D to leave.")
        console = ConsoleAdapter(engine, config, _prompt(args) if config.interactive else None)
        await console.run()
    # A person saw each failure; a script sees the exit code.
    return EXIT_ANSWER_FAILED if console.failed_answers and not config.interactive else 0


def _prompt(args: argparse.Namespace) -> PromptReader:
    from adapters.console.prompt import PrivateFileHistory, PromptReader  # prompt_toolkit: slow to import

    return PromptReader(None if args.no_history else PrivateFileHistory(args.history))


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "you"
