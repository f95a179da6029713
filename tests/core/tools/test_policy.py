"""Which tools a channel may use: its own choice, else its persona's, else the default."""

from __future__ import annotations

from core.tools.policy import ToolLimits, enabled_tools
from core.tools.registry import ToolRegistry
from core.types import ChannelRef, Persona
from tests.fakes.tools import FunctionTool

CHANNEL = ChannelRef("test", "W1", "C1")
PLAIN = Persona("prompt")
REGISTRY = ToolRegistry([FunctionTool(name, lambda args: "") for name in ("time", "fetch_url", "github.search")])


async def test_by_default_no_tool_is_enabled(memory_store):
    assert await enabled_tools(memory_store, REGISTRY, CHANNEL, PLAIN, ToolLimits()) == frozenset()


async def test_the_default_set_names_tools_and_all_means_every_one(memory_store):
    limits = ToolLimits(default=frozenset({"time", "gone"}))  # "gone": no such tool (now)
    assert await enabled_tools(memory_store, REGISTRY, CHANNEL, PLAIN, limits) == {"time"}
    every = ToolLimits(default=frozenset({"all"}))
    assert await enabled_tools(memory_store, REGISTRY, CHANNEL, PLAIN, every) == set(REGISTRY.names())


async def test_a_personas_tools_come_before_the_default(memory_store):
    persona = Persona("prompt", tools=("fetch_url",))
    limits = ToolLimits(default=frozenset({"time"}))
    assert await enabled_tools(memory_store, REGISTRY, CHANNEL, persona, limits) == {"fetch_url"}
    nothing = Persona("prompt", tools=())
    assert await enabled_tools(memory_store, REGISTRY, CHANNEL, nothing, limits) == frozenset()


async def test_the_channels_own_choice_comes_first(memory_store):
    await memory_store.set_channel_tools(CHANNEL, frozenset({"github.search"}), "U1", "admin")
    persona = Persona("prompt", tools=("fetch_url",))
    limits = ToolLimits(default=frozenset({"time"}))
    assert await enabled_tools(memory_store, REGISTRY, CHANNEL, persona, limits) == {"github.search"}
