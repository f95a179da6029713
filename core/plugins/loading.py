"""Load plugins: import their modules and collect the tools and commands they declare.

Plugins come from two places, loaded in this order, each module once:

1. ``PLUGINS=pkg.module,…`` — modules importable from the installed packages or, failing
   that, from the directory chatwright runs in (so a lone ``my_plugin.py`` beside
   ``.env`` works: ``PLUGINS=my_plugin``);
2. the ``chatwright.plugins`` entry-point group of installed distributions::

       [project.entry-points."chatwright.plugins"]
       weather = "chatwright_weather"

A plugin module declares its tools and commands at import time with ``@tool`` and
``@command``; the loader finds them among the module's attributes (what a package's
``__init__`` imports from its submodules counts), so nothing global records them.

A plugin that fails to import, or declares nothing, stops the bot with one line naming
it and the error: a tool or a command that silently went missing would be found out by
users, not by the operator. Fix the plugin, or remove it from ``PLUGINS`` / uninstall it.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from core.commands.spec import CommandSpec
from core.commands.table import CommandTable
from core.errors import ConfigurationError
from core.plugins.commands import PluginCommand
from core.plugins.tools import FunctionTool
from core.tools.registry import Tool, ToolInfo, ToolRegistry

__all__ = ["ENTRY_POINT_GROUP", "Plugin", "load_plugins"]

ENTRY_POINT_GROUP = "chatwright.plugins"


@dataclass(frozen=True, slots=True)
class Plugin:
    """One loaded plugin: its module, where it was named, what it declares."""

    name: str  # the module: "plugins.chatwright_example"; the tools' source
    origin: str  # "PLUGINS" or "entry point weather = chatwright_weather (chatwright-weather 1.0)"
    tools: tuple[Tool, ...]
    commands: tuple[CommandSpec, ...]


def load_plugins(
    modules: Iterable[str],
    tools: ToolRegistry,
    commands: CommandTable,
    *,
    group: str | None = ENTRY_POINT_GROUP,
    workdir: Path | None = None,
) -> tuple[Plugin, ...]:
    """Import the plugins named in ``modules`` (``PLUGINS``) and those of the entry-point
    ``group`` (None: none), add their tools to ``tools`` and their commands to
    ``commands``, and return them. ``workdir`` (default: the current directory) is where
    ``PLUGINS`` modules are also looked for.

    Raises ``ConfigurationError`` (one line) for a plugin that fails to load, and for a
    tool or command whose name is taken."""
    modules = [name.strip() for name in modules if name.strip()]
    if modules:
        _also_search(workdir or Path.cwd())
    found = [(name, "PLUGINS", functools.partial(importlib.import_module, name)) for name in modules]
    found += [(point.module, _describe(point), point.load) for point in _entry_points(group)]
    unique: dict[str, tuple[str, Callable[[], Any]]] = {}
    for name, origin, load in found:
        unique.setdefault(name, (origin, load))  # named twice (PLUGINS and an entry point): loaded once
    plugins = [_collect(name, origin, _import(name, origin, load)) for name, (origin, load) in unique.items()]
    _register(plugins, tools, commands)
    return tuple(plugins)


def _register(plugins: list[Plugin], tools: ToolRegistry, commands: CommandTable) -> None:
    for plugin in plugins:
        try:
            for tool in plugin.tools:
                tools.add(tool)
            for spec in plugin.commands:
                commands.add(spec)
        except ConfigurationError as exc:  # a name taken (by a built-in, another plugin)
            raise ConfigurationError(f"plugin {plugin.name!r} ({plugin.origin}): {exc}") from exc


def _also_search(workdir: Path) -> None:
    # Last on the path, so a file in the working directory never hides an installed package.
    path = str(workdir.resolve())
    if path not in sys.path:
        sys.path.append(path)


def _entry_points(group: str | None) -> list[EntryPoint]:
    if group is None:
        return []
    return sorted(entry_points(group=group), key=lambda point: (point.module, point.name))


def _describe(point: EntryPoint) -> str:
    dist = point.dist
    where = f" ({dist.name} {dist.version})" if dist is not None else ""
    return f"entry point {point.name} = {point.value}{where}"


def _import(name: str, origin: str, load: Callable[[], Any]) -> Any:
    try:
        return load()
    except Exception as exc:
        missing = isinstance(exc, ModuleNotFoundError) and exc.name is not None and (
            name == exc.name or name.startswith(exc.name + "."))
        if missing and origin == "PLUGINS":
            raise ConfigurationError(
                f"plugin {name!r} (PLUGINS) not found: no module {exc.name!r} is installed "
                f"or in the working directory") from exc
        raise ConfigurationError(f"plugin {name!r} ({origin}) failed to load: {_one_line(exc)}") from exc


def _collect(name: str, origin: str, loaded: Any) -> Plugin:
    objects = list(vars(loaded).values()) if isinstance(loaded, ModuleType) else [loaded]
    tools = [_with_source(obj, name) for obj in _unique(obj for obj in objects if _is_tool(obj))]
    commands = [obj.spec for obj in _unique(obj for obj in objects if isinstance(obj, PluginCommand))]
    if not tools and not commands:
        raise ConfigurationError(
            f"plugin {name!r} ({origin}) declares no tools or commands: "
            f"decorate functions with @tool or @command in the module it names")
    return Plugin(name, origin, tuple(tools), tuple(commands))


def _is_tool(obj: Any) -> bool:
    # Any object with a ToolInfo and a ``call`` is a tool, not only @tool's: a plugin may
    # write a class of its own. Classes themselves are not tools.
    return not isinstance(obj, type) and isinstance(getattr(obj, "info", None), ToolInfo) and callable(
        getattr(obj, "call", None))


def _with_source(obj: Any, source: str) -> Any:
    # A package's tools defined in its submodules are listed under the package's name.
    return obj.with_source(source) if isinstance(obj, FunctionTool) and obj.info.source != source else obj


def _unique(objects: Iterable[Any]) -> list[Any]:
    # The same object under two names (``time = now = tool(...)``) is declared once.
    seen: dict[int, Any] = {}
    for obj in objects:
        seen.setdefault(id(obj), obj)
    return list(seen.values())


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())
