"""Which tools a channel may use, and the bounds on running them.

The tools enabled in a channel are, first found:

1. the channel's own choice (``/tools enable|disable``, kept by the store and audited);
2. its persona's ``tools`` (a preset may name them);
3. ``TOOLS_ENABLED``: comma-separated names, or ``all``; by default none, so that an
   upgrade never gives the model new powers silently.

Names are as ``/tools list`` shows them ("time", "github.search_issues"). A name that no
tool has (an MCP server that is down, a plugin removed) is kept but matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.store.protocol import Store
from core.tools.registry import ToolRegistry
from core.types import ChannelRef, Persona

__all__ = ["ALL_TOOLS", "ChosenTools", "ToolLimits", "chosen_tools", "enabled_tools"]

# ``TOOLS_ENABLED=all``.
ALL_TOOLS = "all"


@dataclass(frozen=True, slots=True)
class ToolLimits:
    """The bounds of the tool loop (settings in brackets)."""

    # Tools enabled where neither the channel nor its persona chose [TOOLS_ENABLED].
    default: frozenset[str] = frozenset()
    # Model calls of one answer that may ask for tools [TOOL_MAX_STEPS]; the step after
    # the last is asked without tools, so that it answers in words.
    max_steps: int = 8
    # One tool call [TOOL_TIMEOUT_SECONDS] and all the tool steps of one answer
    # together [TOOL_TOTAL_SECONDS].
    call_timeout: float = 30.0
    total_timeout: float = 120.0
    # Characters of one tool's result the model reads; the rest is cut with a note.
    max_output_chars: int = 16_000


@dataclass(frozen=True, slots=True)
class ChosenTools:
    """The tool names in force in a channel, as written (they may hold "all", or names
    of tools that are gone), and which of the three places above they come from."""

    names: frozenset[str]
    origin: Literal["channel", "persona", "default"]

    def enabled(self, registry: ToolRegistry) -> frozenset[str]:
        """The tools of ``registry`` these names let the model call."""
        if ALL_TOOLS in self.names:
            return frozenset(registry.names())
        return frozenset(name for name in self.names if registry.get(name) is not None)


async def chosen_tools(store: Store, channel: ChannelRef, persona: Persona, limits: ToolLimits) -> ChosenTools:
    """The names in force in ``channel``: its own choice, else its persona's, else the default."""
    chosen = await store.get_channel_tools(channel)
    if chosen is not None:
        return ChosenTools(chosen, "channel")
    if persona.tools is not None:
        return ChosenTools(frozenset(persona.tools), "persona")
    return ChosenTools(limits.default, "default")


async def enabled_tools(
    store: Store, registry: ToolRegistry, channel: ChannelRef, persona: Persona, limits: ToolLimits
) -> frozenset[str]:
    """The names of the tools the model may call in ``channel`` (only tools that exist)."""
    return (await chosen_tools(store, channel, persona, limits)).enabled(registry)
