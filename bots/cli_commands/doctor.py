"""``chatwright doctor``: check the settings, reach each service, say what to fix."""

from __future__ import annotations

import argparse
import sys

from bots.doctor import DEFAULT_TIMEOUT, checks
from bots.doctor_check import Check
from bots.logs import configure_logging
from bots.settings import InvalidSettings, load_settings

NAME = "doctor"
HELP = "check the settings, the database, the chat API and the platform tokens, and report each plainly"

_LABELS = {"ok": "[ ok ]", "warn": "[warn]", "fail": "[FAIL]", "skip": "[ -- ]"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"how long each check may take (default {DEFAULT_TIMEOUT:g})")


async def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except InvalidSettings as exc:
        # Every invalid setting at once; nothing else can be checked without them.
        for problem in exc.problems:
            _show(Check("settings", "fail", problem))
        print(f"{len(exc.problems)} invalid setting(s): fix them and run doctor again")
        return 1
    configure_logging("ERROR", settings.secret_values())
    _show(Check("settings", "ok", "loaded"))
    progress = _Progress(sys.stdout.isatty())
    failed = []
    async for check in checks(settings, args.timeout, on_start=progress.started):
        progress.clear()
        _show(check)
        if check.status == "fail":
            failed.append(check.name)
    progress.clear()
    print("All checks passed." if not failed else f"{len(failed)} check(s) failed: {', '.join(failed)}")
    return 1 if failed else 0


def _show(check: Check) -> None:
    # Flushed at once: the next check may take its whole timeout.
    print(f"{_LABELS[check.status]} {check.name}: {check.detail}", flush=True)


class _Progress:
    """On a terminal, ``checking NAME…`` while a check runs, erased by its verdict."""

    def __init__(self, terminal: bool) -> None:
        self._terminal = terminal
        self._shown = False

    def started(self, name: str) -> None:
        if self._terminal:
            print(f"\r\033[K       checking {name}…", end="", flush=True)
            self._shown = True

    def clear(self) -> None:
        if self._shown:
            print("\r\033[K", end="", flush=True)
            self._shown = False


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value
