"""``chatwright run``: start every adapter whose credentials are set."""

from __future__ import annotations

import argparse

from bots.logs import configure_logging
from bots.runner import run_bot
from bots.settings import load_settings

NAME = "run"
HELP = "run the bot on every platform whose credentials are set (Slack, Discord)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options: everything comes from the environment and .env


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level, settings.secret_values(), settings.log_format)
    await run_bot(settings)
    return 0
