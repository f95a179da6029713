"""Platform-neutral commands: persona, forget, usage, help.

Adapters map their slash commands onto ``CommandRequest(name, args)``; the permission
policy lives here so every platform enforces the same rules: in a shared channel only
admins may change the persona or forget; in a DM the user may.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date

from core.errors import CommandError, PermissionDenied
from core.store.protocol import Store
from core.types import ChannelRef, CommandRequest, CommandResult, Persona, PersonaChange

__all__ = ["HELP_TEXT", "Commands", "parse_command_line"]

HELP_TEXT = """\
Mention me (or DM me) and I answer; I remember each conversation.
Send images or files (text, code, logs, PDFs) with your message and I read them.
Commands:
  /persona show               the persona (system prompt) of this channel
  /persona set <text>         give this channel a persona of your own
  /persona use <preset>       use a preset persona (see /persona list)
  /persona reset              back to the default persona
  /persona list               the preset personas
  /persona history            who changed the persona, and when
  /forget                     clear this conversation's memory, its files and images too
  /usage                      tokens used by this channel today and in total
  /help                       this text
Add --workspace to set, use or reset to change the default of the whole workspace/server.
In shared channels only admins may change the persona or use /forget."""

_WORKSPACE_FLAG = "--workspace"
_HISTORY_LIMIT = 10
_PREVIEW_CHARS = 80


def parse_command_line(line: str) -> tuple[str, str] | None:
    """``"/persona set hi"`` → ``("persona", "set hi")``; None when not a command."""
    if not line.startswith("/") or len(line) < 2 or line[1].isspace():
        return None
    name, _, args = line[1:].partition(" ")
    return name.lower(), args.strip()


class Commands:
    """Runs commands against the store. ``default_persona`` resolves the effective persona."""

    def __init__(
        self,
        store: Store,
        presets: Mapping[str, Persona],
        default_persona: Callable[[ChannelRef], Awaitable[tuple[Persona, str]]],
        forget: Callable[[CommandRequest], Awaitable[int]],
        today: Callable[[], date],
        max_persona_chars: int,
    ) -> None:
        self._store = store
        self._presets = presets
        self._effective_persona = default_persona
        self._forget = forget
        self._today = today
        self._max_persona_chars = max_persona_chars

    async def run(self, request: CommandRequest) -> CommandResult:
        if request.name == "persona":
            return await self._persona(request)
        if request.name == "forget":
            _require_admin(request, "clear this conversation's memory")
            deleted = await self._forget(request)
            return CommandResult(f"Forgotten: {deleted} earlier messages cleared.", changed=True)
        if request.name == "usage":
            return await self._usage(request)
        if request.name == "help":
            return CommandResult(HELP_TEXT)
        raise CommandError(f"Unknown command /{request.name}. Try /help.")

    # -- persona -------------------------------------------------------------------------
    async def _persona(self, request: CommandRequest) -> CommandResult:
        action, _, rest = request.args.partition(" ")
        action = action.lower() or "show"
        rest, scope = self._scope(request, rest.strip())
        if action == "show":
            return await self._show(scope)
        if action == "list":
            return CommandResult(self._list())
        if action == "history":
            return CommandResult(_format_history(await self._store.persona_history(scope, _HISTORY_LIMIT)))
        if action in ("set", "use", "reset"):
            _require_admin(request, "change the persona here")
            persona = self._new_persona(action, rest)
            await self._store.set_persona(scope, persona, request.user_id, request.user_name)
            return CommandResult(_describe_change(action, persona, scope), changed=True)
        raise CommandError(f"Unknown /persona action '{action}'. Try /help.")

    def _scope(self, request: CommandRequest, rest: str) -> tuple[str, ChannelRef]:
        channel = request.conversation.channel_ref
        if not rest.startswith(_WORKSPACE_FLAG):
            return rest, channel
        if request.is_dm or not channel.workspace:
            raise CommandError("--workspace only works in a workspace or server channel.")
        return rest[len(_WORKSPACE_FLAG):].strip(), channel.workspace_default

    def _new_persona(self, action: str, rest: str) -> Persona | None:
        if action == "reset":
            return None
        if action == "use":
            return self._preset(rest)
        if not rest:
            raise CommandError("Usage: /persona set <system prompt>")
        if len(rest) > self._max_persona_chars:
            raise CommandError(
                f"That persona is {len(rest):,} characters; the limit is {self._max_persona_chars:,}."
            )
        return Persona(system_prompt=rest)

    def _preset(self, name: str) -> Persona:
        if not name:
            raise CommandError("Usage: /persona use <preset>. See /persona list.")
        try:
            return self._presets[name]
        except KeyError:
            raise CommandError(f"No preset called '{name}'. See /persona list.") from None

    async def _show(self, scope: ChannelRef) -> CommandResult:
        persona, source = await self._effective_persona(scope)
        label = f" ({persona.name})" if persona.name else ""
        lines = [f"Persona{label}, {source}:", _quote(persona.system_prompt)]
        settings = _model_settings(persona)
        if settings:
            lines.append(settings)
        return CommandResult("\n".join(lines))

    def _list(self) -> str:
        if not self._presets:
            return "No preset personas are installed."
        rows = [f"  {name}: {p.description or _preview(p.system_prompt)}" for name, p in sorted(self._presets.items())]
        return "Preset personas (use with /persona use <name>):\n" + "\n".join(rows)

    # -- usage ---------------------------------------------------------------------------
    async def _usage(self, request: CommandRequest) -> CommandResult:
        totals = await self._store.usage(request.conversation.channel_ref, self._today())
        today, total = totals.today, totals.total
        return CommandResult(
            f"This channel used {today.total_tokens:,} tokens today "
            f"({today.prompt_tokens:,} prompt + {today.completion_tokens:,} completion) "
            f"and {total.total_tokens:,} in total."
        )


def _require_admin(request: CommandRequest, what: str) -> None:
    if not (request.is_dm or request.is_admin):
        raise PermissionDenied(f"Only admins can {what} in a shared channel.")


def _describe_change(action: str, persona: Persona | None, scope: ChannelRef) -> str:
    where = "the workspace default" if scope == scope.workspace_default else "this channel"
    if persona is None:
        return f"Persona of {where} reset to the default."
    if action == "use":
        return f"Persona of {where} is now the '{persona.name}' preset."
    return f"Persona of {where} set:\n{_quote(persona.system_prompt)}"


def _format_history(changes: list[PersonaChange]) -> str:
    if not changes:
        return "The persona here has never been changed."
    lines = ["Persona changes, newest first:"]
    for change in changes:
        when = change.changed_at.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(
            f"  {when} by {change.actor_name or change.actor_id}: "
            f"{_summary(change.before)} → {_summary(change.after)}"
        )
    return "\n".join(lines)


def _summary(persona: Persona | None) -> str:
    if persona is None:
        return "default"
    return f"'{persona.name}' preset" if persona.name else f'"{_preview(persona.system_prompt)}"'


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
