"""What time it is in a time zone: the ``time`` tool (models do not know the time) and
the ``/time`` command (people may ask too)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.plugins import CommandContext, CommandError, Option, ToolError, command, tool

__all__ = ["now_in", "time", "time_command"]


@tool
async def time(zone: str = "UTC") -> str:
    """The current date and time in a time zone.

    Args:
        zone: An IANA time zone name, such as "Europe/Paris" or "America/New_York".
    """
    try:
        return now_in(zone)
    except LookupError as exc:
        raise ToolError(str(exc)) from None


@command("time", "The current time in a time zone", options=[
    Option("zone", "An IANA time zone, such as Europe/Paris (default UTC)"),
])
async def time_command(ctx: CommandContext, zone: str = "UTC") -> str:
    try:
        return now_in(zone)
    except LookupError as exc:
        raise CommandError(f"Sorry: {exc}.") from None


def now_in(zone: str) -> str:
    """``"Monday 2025-06-02T14:03:07+02:00 (CEST, Europe/Paris)"``; ``LookupError`` saying
    what to write instead when there is no such zone."""
    try:
        now = datetime.now(ZoneInfo(zone)).replace(microsecond=0)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a zone's name at all ("../x")
        raise LookupError(f"unknown time zone {zone!r}; use an IANA name such as 'Europe/Paris'") from None
    return f"{now:%A} {now.isoformat()} ({now.tzname()}, {zone})"
