"""The built-in commands: ``/persona``, ``/tools``, ``/forget``, ``/usage``, ``/help``."""

from __future__ import annotations

from collections.abc import Iterable

from core.commands.help import help_text
from core.commands.persona import persona_command
from core.commands.services import BuiltinContext
from core.commands.spec import ADMINS_IN_SHARED, CommandSpec
from core.commands.tools import TOOLS_COMMAND
from core.types import CommandResult

__all__ = ["builtin_commands"]


async def _forget(ctx: BuiltinContext) -> CommandResult:
    deleted = await ctx.services.forget(ctx.request)
    return CommandResult(f"Forgotten: {deleted} earlier messages cleared.", changed=True)


async def _usage(ctx: BuiltinContext) -> CommandResult:
    totals = await ctx.services.store.usage(ctx.channel, ctx.services.today())
    today, total = totals.today, totals.total
    text = (
        f"This channel used {today.total_tokens:,} tokens today "
        f"({today.prompt_tokens:,} prompt + {today.completion_tokens:,} completion) "
        f"and {total.total_tokens:,} in total."
    )
    feedback = await ctx.services.store.feedback_totals(ctx.channel)
    if feedback.helpful or feedback.unhelpful:  # only where people rate answers (Slack)
        text += f"\nFeedback: {feedback.helpful:,} helpful, {feedback.unhelpful:,} unhelpful."
    return CommandResult(text)


async def _help(ctx: BuiltinContext) -> CommandResult:
    return CommandResult(help_text(ctx.services.table))


def builtin_commands(presets: Iterable[str] = ()) -> tuple[CommandSpec, ...]:
    """The declarations, in the order help lists them; ``presets``: the preset personas'
    names (``/persona use`` takes one of them)."""
    return (
        persona_command(presets),
        TOOLS_COMMAND,
        CommandSpec("forget", "Clear this conversation's memory, its files and images too", _forget,
                    access=ADMINS_IN_SHARED, refusal="clear this conversation's memory"),
        CommandSpec("usage", "Tokens this channel used today and in total", _usage),
        CommandSpec("help", "What I do, and my commands", _help),
    )
