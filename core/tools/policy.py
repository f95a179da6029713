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

from core.store.protocol import Store
from core.tools.registry import ToolRegistry
from core.types import ChannelRef, Persona

__all__ = ["ALL_TOOLS", "ToolLimits", "enabled_tools", "parse_tool_names"]

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


def parse_tool_names(text: str) -> frozenset[str]:
    """``"time, github.search"`` → the names; ``"all"`` stays ``{"all"}``."""
    return frozenset(part.strip() for part in text.split(",") if part.strip())


async def enabled_tools(
    store: Store, registry: ToolRegistry, channel: ChannelRef, persona: Persona, limits: ToolLimits
) -> frozenset[str]:
    """The names of the tools the model may call in ``channel`` (only tools that exist)."""
    chosen = await store.get_channel_tools(channel)
    if chosen is None:
        chosen = frozenset(persona.tools) if persona.tools is not None else limits.default
    if ALL_TOOLS in chosen:
        return frozenset(registry.names())
    return frozenset(name for name in chosen if registry.get(name) is not None)
