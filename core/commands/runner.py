"""``Commands``: runs a request against the command table — finds the command, reads its
arguments (a typed line, or a platform's typed options), checks who may run it, calls it.

Rights are checked here, once for every platform, from the declaration: a part declared
for admins in shared channels refuses others there (in a DM the user may act on their
own conversation); one declared for admins refuses others everywhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date

from core.commands.builtin import builtin_commands
from core.commands.parse import check_arguments, parse_arguments
from core.commands.services import BuiltinContext, BuiltinServices
from core.commands.spec import ADMINS, ADMINS_IN_SHARED, CommandContext, CommandSpec, Subcommand, TypedCommandRequest
from core.commands.table import CommandTable
from core.errors import CommandError, PermissionDenied
from core.model.catalog import ModelCatalog
from core.store.protocol import Store
from core.tools.policy import ToolLimits
from core.tools.registry import ToolRegistry
from core.types import ChannelRef, CommandRequest, CommandResult, Persona

__all__ = ["Commands"]


class Commands:
    """The built-in commands, and any added (plugins'), over ``store``.

    ``default_persona`` resolves the persona in force in a channel; ``forget`` clears a
    request's conversation; ``tools`` and ``tool_limits`` are the engine's (``/tools``);
    ``models`` the catalog ``/model`` shows.
    """

    def __init__(
        self,
        store: Store,
        presets: Mapping[str, Persona],
        default_persona: Callable[[ChannelRef], Awaitable[tuple[Persona, str]]],
        forget: Callable[[CommandRequest], Awaitable[int]],
        today: Callable[[], date],
        max_persona_chars: int,
        *,
        tools: ToolRegistry | None = None,
        tool_limits: ToolLimits | None = None,
        models: ModelCatalog | None = None,
    ) -> None:
        self.table = CommandTable(builtin_commands(presets))
        self._builtins = frozenset(self.table.names())
        self._services = BuiltinServices(
            store, presets, default_persona, forget, today, max_persona_chars,
            tools if tools is not None else ToolRegistry(), tool_limits or ToolLimits(), self.table,
            models if models is not None else ModelCatalog({}),
        )

    def add(self, spec: CommandSpec) -> None:
        """Add a command (a plugin's) before the adapters start: they read the table then."""
        self.table.add(spec)

    async def run(self, request: CommandRequest) -> CommandResult:
        spec = self.table.get(request.name)
        if spec is None:
            raise CommandError(f"Unknown command /{request.name}. Try /help.")
        if isinstance(request, TypedCommandRequest):
            arguments = check_arguments(spec, request.arguments)
        else:
            arguments = parse_arguments(spec, request.args)
        part = spec.subcommand(arguments.subcommand) if arguments.subcommand else spec
        assert part is not None and part.handler is not None  # the parsers picked a declared part
        _check_access(spec, part, request)
        context: CommandContext = (
            BuiltinContext(request, self._services) if spec.name in self._builtins else CommandContext(request)
        )
        result = await part.handler(context, **arguments.values)
        if isinstance(result, CommandResult):
            return result
        return CommandResult("Done." if result is None else str(result))


def _check_access(spec: CommandSpec, part: Subcommand | CommandSpec, request: CommandRequest) -> None:
    what = part.refusal or f"use /{spec.name}" + (f" {part.name}" if part is not spec else "")
    if part.access == ADMINS and not request.is_admin:
        raise PermissionDenied(f"Only admins can {what}.")
    if part.access == ADMINS_IN_SHARED and not (request.is_dm or request.is_admin):
        raise PermissionDenied(f"Only admins can {what} in a shared channel.")
