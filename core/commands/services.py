"""What the built-in commands work with: the store, the presets, the tools. Plugins'
handlers get a plain ``CommandContext``; the built-ins' get this too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from core.commands.spec import CommandContext
from core.commands.table import CommandTable
from core.model.catalog import ModelCatalog
from core.store.protocol import Store
from core.tools.policy import ToolLimits
from core.tools.registry import ToolRegistry
from core.types import ChannelRef, CommandRequest, Persona

__all__ = ["BuiltinContext", "BuiltinServices"]


@dataclass(frozen=True, slots=True)
class BuiltinServices:
    store: Store
    presets: Mapping[str, Persona]
    # The persona in force in a channel, and where it comes from ("set for this channel").
    persona_for: Callable[[ChannelRef], Awaitable[tuple[Persona, str]]]
    # Clears the request's conversation; returns how many turns went.
    forget: Callable[[CommandRequest], Awaitable[int]]
    today: Callable[[], date]
    max_persona_chars: int
    tools: ToolRegistry
    tool_limits: ToolLimits
    table: CommandTable = field(repr=False)
    # The models ``/model`` shows and lets a channel use.
    models: ModelCatalog = field(default_factory=lambda: ModelCatalog({}))


@dataclass(frozen=True, slots=True)
class BuiltinContext(CommandContext):
    services: BuiltinServices
