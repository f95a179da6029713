"""``/tools list|enable|disable|reset|history``: which tools the model may call here.

The tools in force in a channel are its own choice, else its persona's, else the
default (``TOOLS_ENABLED``; see ``core/tools/policy.py``). ``enable`` and ``disable``
start from the set in force and store the whole new set as the channel's choice, audited;
``reset`` drops the choice. Changes are for admins only, in DMs too: a DM follows
``TOOLS_ENABLED`` unless an admin changed it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from core.commands.audit import format_history
from core.commands.services import BuiltinContext
from core.commands.spec import ADMINS, CommandSpec, Option, Subcommand
from core.errors import CommandError
from core.tools.policy import ALL_TOOLS, chosen_tools
from core.tools.registry import ToolRegistry
from core.types import CommandResult

__all__ = ["TOOLS_COMMAND"]

_HISTORY_LIMIT = 10
_PREVIEW_CHARS = 80
_CHANGE = "change the tools here"
_NAMES = re.compile(r"[\s,]+")


async def _list(ctx: BuiltinContext) -> CommandResult:
    registry = ctx.services.tools
    groups = registry.by_source()
    if not groups:
        return CommandResult("No tools are installed: plugins (PLUGINS) and MCP servers (MCP_CONFIG) add them.")
    force = await _in_force(ctx)
    lines = [f"Tools (on = the model may call it here; {force.origin}):"]
    for source in sorted(groups, key=_source_order):
        lines.append(f"{_source_label(source)}:")
        lines += [f"  {'on ' if info.name in force.enabled else 'off'}  {info.name}: {_preview(info.description)}"
                  for info in groups[source]]
    missing = sorted(name for name in force.chosen if name != ALL_TOOLS and registry.get(name) is None)
    if missing:
        lines.append(f"Enabled but not available now: {', '.join(missing)}.")
    return CommandResult("\n".join(lines))


async def _enable(ctx: BuiltinContext, name: str) -> CommandResult:
    force = await _in_force(ctx)
    wanted = _names(name)
    if wanted == {ALL_TOOLS}:
        done = "Every tool, also those added later, is now enabled here."
        return await _store(ctx, force, frozenset({ALL_TOOLS}), done)
    names = {_resolve(ctx.services.tools, n) for n in wanted}
    current = force.explicit(ctx.services.tools)
    if names <= current:
        return CommandResult(f"Already enabled here: {_joined(names)}.")
    return await _store(ctx, force, current | names, f"Enabled here: {_joined(names - current)}.")


async def _disable(ctx: BuiltinContext, name: str) -> CommandResult:
    force = await _in_force(ctx)
    wanted = _names(name)
    if wanted == {ALL_TOOLS}:
        return await _store(ctx, force, frozenset(), "No tool is enabled here now.")
    current = force.explicit(ctx.services.tools)
    # A name in force that no tool has now (its server is down) may be disabled too.
    names = {n if n in current else _resolve(ctx.services.tools, n) for n in wanted}
    if not names & current:
        return CommandResult(f"Not enabled here: {_joined(names)}.")
    return await _store(ctx, force, current - names, f"Disabled here: {_joined(names & current)}.")


async def _reset(ctx: BuiltinContext) -> CommandResult:
    channel = ctx.channel
    if await ctx.services.store.get_channel_tools(channel) is None:
        force = await _in_force(ctx)
        return CommandResult(f"This channel has no choice of tools of its own: {force.origin} applies.")
    await ctx.services.store.set_channel_tools(channel, None, ctx.user_id, ctx.user_name)
    force = await _in_force(ctx)
    return CommandResult(f"Tools of this channel reset: {force.origin} applies ({_joined(force.enabled) or 'none'}).",
                         changed=True)


async def _history(ctx: BuiltinContext) -> CommandResult:
    changes = await ctx.services.store.tools_history(ctx.channel, _HISTORY_LIMIT)
    return CommandResult(format_history(changes, _summary, title="Tools changes", empty="The tools here have never been changed."))


TOOLS_COMMAND = CommandSpec("tools", "The tools I may use here", default="list", subcommands=(
    Subcommand("list", "Every tool, and which ones are on here", _list),
    Subcommand("enable", "Let me use a tool here", _enable, access=ADMINS, refusal=_CHANGE,
               options=(Option("name", "The tool's name as /tools list shows it, or all", required=True),)),
    Subcommand("disable", "Stop me using a tool here", _disable, access=ADMINS, refusal=_CHANGE,
               options=(Option("name", "The tool's name as /tools list shows it, or all", required=True),)),
    Subcommand("reset", "Back to the tools of the persona or the default", _reset, access=ADMINS, refusal=_CHANGE),
    Subcommand("history", "Who changed the tools here, and when", _history),
))


# -- the set in force ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _InForce:
    enabled: frozenset[str]  # the tools the model may call here (that exist now)
    chosen: frozenset[str]  # the names in force as written (may hold "all", or missing tools)
    origin: str  # where they come from, for people

    def explicit(self, registry: ToolRegistry) -> frozenset[str]:
        """The names in force, "all" spelled out: what enable/disable start from."""
        if ALL_TOOLS in self.chosen:
            return frozenset(registry.names()) | (self.chosen - {ALL_TOOLS})
        return self.chosen


async def _in_force(ctx: BuiltinContext) -> _InForce:
    services = ctx.services
    persona, _ = await services.persona_for(ctx.channel)
    chosen = await chosen_tools(services.store, ctx.channel, persona, services.tool_limits)
    if chosen.origin == "channel":
        origin = "chosen for this channel"
    elif chosen.origin == "persona":
        label = f"the '{persona.name}' persona's" if persona.name else "the persona's"
        origin = f"{label} choice"
    else:
        origin = "the default (TOOLS_ENABLED)"
    return _InForce(chosen.enabled(services.tools), chosen.names, origin)


async def _store(ctx: BuiltinContext, force: _InForce, tools: frozenset[str], done: str) -> CommandResult:
    await ctx.services.store.set_channel_tools(ctx.channel, tools, ctx.user_id, ctx.user_name)
    now = "all" if ALL_TOOLS in tools else _joined(tools) or "none"
    return CommandResult(f"{done} Tools here now: {now}.", changed=True)


# -- names ------------------------------------------------------------------------------------
def _names(text: str) -> set[str]:
    """``"time, fetch_url"`` or ``"time fetch_url"`` → the names; "all" in any case is "all"."""
    names = {ALL_TOOLS if n.lower() == ALL_TOOLS else n for n in _NAMES.split(text) if n}
    if ALL_TOOLS in names and len(names) > 1:
        raise CommandError("Use 'all' on its own: /tools enable all, or /tools disable all.")
    return names


def _resolve(registry: ToolRegistry, name: str) -> str:
    """The tool's name as ``/tools list`` shows it, from that name, the model's
    ("github__search") or another case; a clear error with close names otherwise."""
    tool = registry.get(name)
    if tool is not None:
        return tool.info.name
    names = registry.names()
    same = [n for n in names if n.lower() == name.lower()]
    if same:
        return same[0]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    close += [n for n in names if name.lower() in n.lower() and n not in close][: 3 - len(close)]
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise CommandError(f"No tool called '{name}'.{hint} See /tools list.")


# -- showing ------------------------------------------------------------------------------------
def _source_order(source: str) -> tuple[int, str]:
    return (0 if source == "built-in" else 2 if source.startswith("mcp:") else 1, source)


def _source_label(source: str) -> str:
    if source == "built-in":
        return "Built-in"
    if source.startswith("mcp:"):
        return f"MCP server {source[4:]}"
    return f"Plugin {source}"


def _summary(tools: frozenset[str] | None) -> str:
    if tools is None:
        return "default"
    return "all" if ALL_TOOLS in tools else _joined(tools) or "none"


def _joined(names: frozenset[str] | set[str]) -> str:
    return ", ".join(sorted(names))


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _PREVIEW_CHARS else flat[: _PREVIEW_CHARS - 1] + "…"
