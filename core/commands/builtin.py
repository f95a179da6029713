"""The built-in commands: ``/persona``, ``/model``, ``/tools``, ``/forget``, ``/usage``, ``/help``."""

from __future__ import annotations

from collections.abc import Iterable

from core.commands.help import help_text
from core.commands.model import MODEL_COMMAND
from core.commands.persona import persona_command
from core.commands.services import BuiltinContext
from core.commands.spec import ADMINS_IN_SHARED, CommandSpec
from core.commands.tools import TOOLS_COMMAND
from core.commands.usage_report import USAGE_COMMAND
from core.types import CommandResult

__all__ = ["builtin_commands"]


async def _forget(ctx: BuiltinContext) -> CommandResult:
    deleted = await ctx.services.forget(ctx.request)
    return CommandResult(f"Forgotten: {deleted} earlier messages cleared.", changed=True)


async def _help(ctx: BuiltinContext) -> CommandResult:
    return CommandResult(help_text(ctx.services.table))


def builtin_commands(presets: Iterable[str] = ()) -> tuple[CommandSpec, ...]:
    """The declarations, in the order help lists them; ``presets``: the preset personas'
    names (``/persona use`` takes one of them)."""
    return (
        persona_command(presets),
        MODEL_COMMAND,
        TOOLS_COMMAND,
        CommandSpec("forget", "Clear this conversation's memory, its files and images too", _forget,
                    access=ADMINS_IN_SHARED, refusal="clear this conversation's memory"),
        USAGE_COMMAND,
        CommandSpec("help", "What I do, and my commands", _help),
    )
