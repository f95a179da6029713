"""``ToolRegistry``: every tool the bot has, by name, grouped by where it comes from."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.errors import ConfigurationError
from core.types import ToolSpec

__all__ = ["Tool", "ToolInfo", "ToolRegistry", "wire_name"]

# What people call a tool: "time", or "server.tool" for an MCP server's.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64})?$")


@dataclass(frozen=True, slots=True)
class ToolInfo:
    """A tool as people and the model know it."""

    name: str  # "time", "github.search_issues"
    description: str
    parameters: Mapping[str, Any] = field(compare=False, hash=False)  # JSON schema (an object)
    source: str = "built-in"  # "built-in", a plugin's module, "mcp:github"

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(wire_name(self.name), self.description, self.parameters)


class Tool(Protocol):
    info: ToolInfo

    async def call(self, arguments: dict[str, Any]) -> str:
        """Run with the model's arguments (a JSON object, not yet checked against the
        schema); return the text the model reads. May raise: the runner turns any
        exception into an error text for the model."""
        ...


def wire_name(name: str) -> str:
    """The name the model calls a tool by: the API allows no "." ("github.search" →
    "github__search")."""
    return name.replace(".", "__")


class ToolRegistry:
    """Tools by name. MCP servers add and remove theirs while the bot runs."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._by_wire: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        name = tool.info.name
        if not _NAME.match(name):
            raise ConfigurationError(
                f"tool name {name!r} must be letters, digits, '_' or '-' (and one '.' for a server's tool)")
        other = self._tools.get(name) or self._by_wire.get(wire_name(name))
        if other is not None and other is not tool:
            # "a.b__c" and "a__b.c" are both "a__b__c" to the model: as bad as one name.
            called = repr(name) if other.info.name == name else f"{wire_name(name)!r} by the model"
            raise ConfigurationError(
                f"two tools are called {called} ({other.info.source} and {tool.info.source})")
        self._tools[name] = tool
        self._by_wire[wire_name(name)] = tool

    def remove_source(self, source: str) -> None:
        """Drop every tool of ``source`` (an MCP server that stopped)."""
        for name in [n for n, t in self._tools.items() if t.info.source == source]:
            del self._by_wire[wire_name(name)]
            del self._tools[name]

    def get(self, name: str) -> Tool | None:
        """By the name people use ("github.search") or the model's ("github__search")."""
        return self._tools.get(name) or self._by_wire.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def by_source(self) -> dict[str, list[ToolInfo]]:
        """Every tool's info, grouped by source, sorted: for ``/tools list`` and doctor."""
        groups: dict[str, list[ToolInfo]] = {}
        for name in self.names():
            info = self._tools[name].info
            groups.setdefault(info.source, []).append(info)
        return groups

    def specs(self, names: Iterable[str]) -> tuple[ToolSpec, ...]:
        """The specs of those of ``names`` that exist, sorted by name (a stable prefix)."""
        return tuple(self._tools[n].info.spec for n in sorted(set(names)) if n in self._tools)
