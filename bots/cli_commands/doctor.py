"""``chatwright doctor``: check the settings and reach the chat API."""

from __future__ import annotations

import argparse

from bots.doctor import run_checks
from bots.logs import configure_logging
from bots.settings import load_settings

NAME = "doctor"
HELP = "check the settings, the database and the chat API, and report each plainly"

_LABELS = {"ok": "[ ok ]", "warn": "[warn]", "fail": "[FAIL]", "skip": "[ -- ]"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging("ERROR", settings.secret_values())
    print(f"{_LABELS['ok']} settings: loaded")
    checks = await run_checks(settings)
    for check in checks:
        print(f"{_LABELS[check.status]} {check.name}: {check.detail}")
    failed = [check.name for check in checks if check.status == "fail"]
    print("All checks passed." if not failed else f"{len(failed)} check(s) failed: {', '.join(failed)}")
    return 1 if failed else 0
