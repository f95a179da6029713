"""``/model show|list|use|history``: the model that answers in a channel.

The model is part of the channel's persona (``Persona.model``): ``use`` stores the
persona in force here with the new model as the channel's own, so the change is audited
like any persona change (``/persona history`` shows it too). Changes are for admins in
shared channels; in a DM, the user's own. ``use default`` follows the default model again.
"""

from __future__ import annotations

import dataclasses

from core.commands.audit import format_history
from core.commands.services import BuiltinContext
from core.commands.spec import ADMINS_IN_SHARED, CommandSpec, Option, Subcommand
from core.errors import CommandError
from core.model.catalog import ModelCatalog, ModelInfo
from core.types import CommandResult, Persona, PersonaChange

__all__ = ["MODEL_COMMAND"]

# ``/model use default``: no model of the channel's own, the default's.
_DEFAULT = "default"
_HISTORY_LIMIT = 10
_CHANGE = "change the model here"


async def _show(ctx: BuiltinContext) -> CommandResult:
    catalog = ctx.services.models
    persona, source = await ctx.services.persona_for(ctx.channel)
    name = persona.model or catalog.default_model
    info = catalog.info(name)
    lines = [f"Model here: {name} ({_origin(persona, source)})."]
    lines.append(_details(info))
    if catalog.named_only and info.name not in catalog.models and name != catalog.default_model:
        lines.append("MODELS_FILE does not list it: it goes to the default provider as it is.")
    return CommandResult("\n".join(lines))


async def _list(ctx: BuiltinContext) -> CommandResult:
    catalog = ctx.services.models
    persona, _ = await ctx.services.persona_for(ctx.channel)
    here = persona.model or catalog.default_model
    if not catalog.named_only:
        lines = [f"The default model is {catalog.default_model}."]
        if here != catalog.default_model:
            lines.append(f"This channel uses {here}.")
        lines.append("Any model the API offers may be named: /model use NAME. "
                     "(MODELS_FILE lists models, with their providers, windows and prices.)")
        return CommandResult("\n".join(lines))
    lines = ["Models (use with /model use NAME):"]
    for name in catalog.names():
        marks = [m for m, on in (("default", name == catalog.default_model), ("in use here", name == here)) if on]
        label = f" ({', '.join(marks)})" if marks else ""
        lines.append(f"  {name}{label}: {_details(catalog.info(name))}")
    return CommandResult("\n".join(lines))


async def _use(ctx: BuiltinContext, name: str) -> CommandResult:
    catalog = ctx.services.models
    model = None if name == _DEFAULT and _DEFAULT not in catalog.models else _checked(catalog, name)
    persona, _ = await ctx.services.persona_for(ctx.channel)
    if persona.model == model:
        return CommandResult(f"Already using {model or 'the default model'} here.")
    # The persona in force becomes the channel's own, with this model: a workspace
    # default's later changes no longer reach this channel (say /persona reset for them).
    changed = dataclasses.replace(persona, model=model)
    await ctx.services.store.set_persona(ctx.channel, changed, ctx.user_id, ctx.user_name)
    now = model or f"the default model ({catalog.default_model})"
    return CommandResult(f"This channel now uses {now}.", changed=True)


async def _history(ctx: BuiltinContext) -> CommandResult:
    changes = await ctx.services.store.persona_history(ctx.channel, _HISTORY_LIMIT)
    default = ctx.services.models.default_model
    moves = [c for c in changes if _model_of(c.before, default) != _model_of(c.after, default)]
    return CommandResult(format_history(moves, lambda p: _model_of(p, default), title="Model changes",
                                        empty="The model here has never been changed."))


MODEL_COMMAND = CommandSpec("model", "Show or change the model that answers here", default="show", subcommands=(
    Subcommand("show", "The model in force here, and what it can take", _show),
    Subcommand("list", "The models I can use", _list),
    Subcommand("use", "Answer with another model here", _use, access=ADMINS_IN_SHARED, refusal=_CHANGE,
               options=(Option("name", "The model's name (see /model list), or default", required=True),)),
    Subcommand("history", "Who changed the model here, and when", _history),
))


def _checked(catalog: ModelCatalog, name: str) -> str:
    """``name`` if the catalog lets it be used; a clear error listing the models otherwise."""
    name = name.strip()
    if not name or len(name.split()) != 1:
        raise CommandError("Name one model, e.g. /model use gpt-4o-mini. See /model list.")
    if catalog.named_only and name not in catalog.names():
        raise CommandError(f"No model called '{name}'. The models: {', '.join(catalog.names())}.")
    return name


def _origin(persona: Persona, source: str) -> str:
    if persona.model is None:
        return "the default"
    where = {"the workspace default": "set as the workspace default"}.get(source, source)
    return f"the '{persona.name}' persona's, {where}" if persona.name else where


def _details(info: ModelInfo) -> str:
    window = f"{info.context_window:,}-token window" if info.context_window else "window not known"
    parts = [f"provider {info.provider}", window]
    if info.max_reply_tokens:
        parts.append(f"replies up to {info.max_reply_tokens:,} tokens")
    if info.vision is not None:
        parts.append("sees images" if info.vision else "no images")
    parts.append("tools" if info.tools else "no tools")
    if info.prices is not None:
        parts.append(f"${info.prices.input:g} in / ${info.prices.output:g} out per million tokens")
    return ", ".join(parts)


def _model_of(persona: Persona | None, default: str) -> str:
    model = persona.model if persona is not None else None
    return model or f"default ({default})"
