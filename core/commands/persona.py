"""``/persona show|set|use|reset|list|history``: a channel's persona (system prompt).

``--workspace`` acts on the default of the whole workspace/server instead; changes are
for admins in shared channels (in a DM, the user's own), and each is audited."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from core.commands.audit import format_history
from core.commands.services import BuiltinContext
from core.commands.spec import ADMINS_IN_SHARED, CommandSpec, Option, Subcommand
from core.errors import CommandError
from core.types import ChannelRef, CommandResult, Persona

__all__ = ["persona_command"]

_HISTORY_LIMIT = 10
_PREVIEW_CHARS = 80
_WORKSPACE = Option("workspace", "The default of the whole workspace/server, not this channel's", type="flag")
_CHANGE = "change the persona here"


def persona_command(presets: Iterable[str]) -> CommandSpec:
    """The declaration; ``presets`` are the names ``use`` accepts."""
    preset = Option("preset", "The preset's name (see /persona list)", type="choice", required=True,
                    choices=tuple(sorted(presets)))
    return CommandSpec("persona", "Show or change this channel's persona (system prompt)", default="show", subcommands=(
        Subcommand("show", "Show the persona in force here", _show, options=(_WORKSPACE,)),
        Subcommand("set", "Give this channel a persona of your own", _set, access=ADMINS_IN_SHARED, refusal=_CHANGE,
                   options=(_WORKSPACE, Option("text", "The system prompt", required=True))),
        Subcommand("use", "Use a preset persona (see /persona list)", _use, access=ADMINS_IN_SHARED, refusal=_CHANGE,
                   options=(_WORKSPACE, preset)),
        Subcommand("reset", "Go back to the default persona", _reset, access=ADMINS_IN_SHARED, refusal=_CHANGE,
                   options=(_WORKSPACE,)),
        Subcommand("list", "The preset personas", _list),
        Subcommand("history", "Who changed the persona here, and when", _history, options=(_WORKSPACE,)),
    ))


async def _show(ctx: BuiltinContext, workspace: bool = False) -> CommandResult:
    persona, source = await ctx.services.persona_for(_scope(ctx, workspace))
    label = f" ({persona.name})" if persona.name else ""
    lines = [f"Persona{label}, {source}:", _quote(persona.system_prompt)]
    settings = _model_settings(persona)
    if settings:
        lines.append(settings)
    return CommandResult("\n".join(lines))


async def _set(ctx: BuiltinContext, text: str, workspace: bool = False) -> CommandResult:
    limit = ctx.services.max_persona_chars
    if len(text) > limit:
        raise CommandError(f"That persona is {len(text):,} characters; the limit is {limit:,}.")
    return await _change(ctx, workspace, Persona(system_prompt=text), "set")


async def _use(ctx: BuiltinContext, preset: str, workspace: bool = False) -> CommandResult:
    return await _change(ctx, workspace, ctx.services.presets[preset], "use")


async def _reset(ctx: BuiltinContext, workspace: bool = False) -> CommandResult:
    return await _change(ctx, workspace, None, "reset")


async def _list(ctx: BuiltinContext) -> CommandResult:
    presets = ctx.services.presets
    if not presets:
        return CommandResult("No preset personas are installed.")
    rows = [f"  {name}: {p.description or _preview(p.system_prompt)}" for name, p in sorted(presets.items())]
    return CommandResult("Preset personas (use with /persona use <name>):\n" + "\n".join(rows))


async def _history(ctx: BuiltinContext, workspace: bool = False) -> CommandResult:
    changes = await ctx.services.store.persona_history(_scope(ctx, workspace), _HISTORY_LIMIT)
    return CommandResult(format_history(changes, _summary, title="Persona changes", empty="The persona here has never been changed."))


async def _change(ctx: BuiltinContext, workspace: bool, persona: Persona | None, action: str) -> CommandResult:
    scope = _scope(ctx, workspace)
    if persona is not None and persona.model is None:
        # A model chosen here (/model use) stays when only the prompt changes.
        current = await ctx.services.store.get_persona(scope)
        if current is not None and current.model is not None:
            persona = dataclasses.replace(persona, model=current.model)
    await ctx.services.store.set_persona(scope, persona, ctx.user_id, ctx.user_name)
    return CommandResult(_describe_change(action, persona, scope), changed=True)


def _scope(ctx: BuiltinContext, workspace: bool) -> ChannelRef:
    if not workspace:
        return ctx.channel
    if ctx.is_dm or not ctx.channel.workspace:
        raise CommandError("--workspace only works in a workspace or server channel.")
    return ctx.channel.workspace_default


def _describe_change(action: str, persona: Persona | None, scope: ChannelRef) -> str:
    where = "the workspace default" if scope == scope.workspace_default else "this channel"
    if persona is None:
        return f"Persona of {where} reset to the default."
    if action == "use":
        return f"Persona of {where} is now the '{persona.name}' preset."
    return f"Persona of {where} set:\n{_quote(persona.system_prompt)}"


def _summary(persona: Persona | None) -> str:
    if persona is None:
        return "default"
    text = f"'{persona.name}' preset" if persona.name else f'"{_preview(persona.system_prompt)}"'
    # /model use changes only the model: without it, both sides would read the same.
    return f"{text} (model {persona.model})" if persona.model else text


def _model_settings(persona: Persona) -> str:
    parts = [
        f"{label}: {value}"
        for label, value in (("model", persona.model), ("temperature", persona.temperature), ("max tokens", persona.max_tokens))
        if value is not None
    ]
    if persona.vision is not None:
        parts.append("images: " + ("shown to the model" if persona.vision else "not shown (vision off)"))
    return ", ".join(parts)


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _PREVIEW_CHARS else flat[: _PREVIEW_CHARS - 1] + "…"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])
