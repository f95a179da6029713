"""Typed arguments from a line of text (Slack's slash commands, the console, ``@bot
/persona …``), and the same checks for arguments a platform sent typed (Discord).

A line is read against the command's declaration::

    /persona set --workspace Be brief.   → Arguments("set", {"workspace": True, "text": "Be brief."})
    /tools enable time                   → Arguments("enable", {"name": "time"})

The first word picks the subcommand (none: the command's default). Then ``--flag`` words
set flags, and the other words fill the options in order, one word each, except that the
last option, when it is text, takes the rest of the line as it is (a persona's prompt,
spaces and ``--`` inside it too).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from core.commands.spec import Arguments, CommandSpec, Option, Subcommand, Value
from core.errors import CommandError

__all__ = ["check_arguments", "parse_arguments", "parse_command_line", "usage"]

_FLAG = re.compile(r"^--([a-z0-9][a-z0-9_-]*)$", re.IGNORECASE)
# A choice error lists every choice up to this many, else only the close ones.
_LISTED_CHOICES = 10


def parse_command_line(line: str) -> tuple[str, str] | None:
    """``"/persona set hi"`` → ``("persona", "set hi")``; None when not a command."""
    if not line.startswith("/") or len(line) < 2 or line[1].isspace():
        return None
    name, _, args = line[1:].partition(" ")
    return name.lower(), args.strip()


def parse_arguments(spec: CommandSpec, line: str) -> Arguments:
    """The typed arguments of ``/{spec.name} {line}``; ``CommandError`` saying how to
    write it when the line does not fit the declaration."""
    part, rest = _pick_part(spec, line.strip())
    values = _read_options(spec, part, rest)
    return Arguments(part.name if part is not spec else "", values)


def check_arguments(spec: CommandSpec, arguments: Arguments) -> Arguments:
    """Typed arguments checked against the declaration as a line would be (a platform's
    types are not trusted): known options, right types, required ones, valid choices."""
    part = _part_named(spec, arguments.subcommand or spec.default) if spec.subcommands else spec
    if part is None:
        raise CommandError(f"Unknown /{spec.name} action '{arguments.subcommand}'. Try /help.")
    options = {option.name: option for option in part.options}
    values: dict[str, Value] = {}
    for name, value in arguments.values.items():
        option = options.get(name)
        if option is None:
            raise CommandError(f"{_label(spec, part)} has no option '{name}'. {_usage_line(spec, part)}")
        if option.type == "flag":
            if value is not True and value is not False:
                raise CommandError(f"Option '{name}' is on or off. {_usage_line(spec, part)}")
            if value:
                values[name] = True
        elif isinstance(value, bool) or not isinstance(value, (str, int)):
            raise CommandError(f"Option '{name}' is not a value. {_usage_line(spec, part)}")
        elif str(value).strip():
            values[name] = _converted(option, str(value).strip())
    _require(spec, part, values)
    return Arguments(part.name if part is not spec else "", values)


def usage(spec: CommandSpec, part: Subcommand | CommandSpec | None = None, *, flag_prefix: str = "--") -> str:
    """``/persona set [--workspace] <text>``: how to write a part in a typed line
    (``flag_prefix=""`` where flags are named options, as on Discord)."""
    part = part or spec
    words = [f"/{spec.name}"] + ([part.name] if part is not spec else [])
    words += [_option_usage(option, flag_prefix) for option in part.options]
    return " ".join(words)


# -- reading a line ------------------------------------------------------------------------
def _pick_part(spec: CommandSpec, line: str) -> tuple[Subcommand | CommandSpec, str]:
    if not spec.subcommands:
        return spec, line
    word, _, rest = line.partition(" ")
    name = word.lower() or spec.default
    if not name:
        raise CommandError(f"Usage: /{spec.name} {' | '.join(sub.name for sub in spec.subcommands)}")
    part = spec.subcommand(name)
    if part is None:
        raise CommandError(f"Unknown /{spec.name} action '{word}'. Try /help.")
    return part, rest.strip()


def _read_options(spec: CommandSpec, part: Subcommand | CommandSpec, rest: str) -> dict[str, Value]:
    flags = {_flag_key(option.name): option for option in part.options if option.type == "flag"}
    waiting = [option for option in part.options if option.positional]
    values: dict[str, Value] = {}
    while rest:
        word, _, after = rest.partition(" ")
        flag = _FLAG.match(word)
        if flag:
            option = flags.get(_flag_key(flag.group(1)))
            if option is None:
                raise CommandError(f"{_label(spec, part)} has no option --{flag.group(1)}. {_usage_line(spec, part)}")
            values[option.name] = True
        elif not waiting:
            raise CommandError(f"Too many words after {_label(spec, part)}. {_usage_line(spec, part)}")
        else:
            option = waiting.pop(0)
            if option.type == "text" and not waiting:
                word, after = rest, ""  # the last text option takes the rest as it is
            values[option.name] = _converted(option, word)
        rest = after.strip()
    _require(spec, part, values)
    return values


def _flag_key(name: str) -> str:
    # ``--dry-run`` and ``--dry_run`` are the same flag, in any case.
    return name.lower().replace("-", "_")


def _converted(option: Option, word: str) -> Value:
    if option.type == "integer":
        try:
            return int(word)
        except ValueError:
            raise CommandError(f"{option.name} must be a whole number, not '{word}'.") from None
    if option.type == "choice":
        return _choice(option, word)
    return word


def _choice(option: Option, word: str) -> str:
    for choice in option.choices:
        if choice.lower() == word.lower():
            return choice
    known = list(option.choices)
    if len(known) > _LISTED_CHOICES:
        known = difflib.get_close_matches(word, known, n=5, cutoff=0.5)
    hint = f" Choose one of: {', '.join(known)}." if known else ""
    if not option.choices:
        hint = f" There are no {option.name}s to choose from."
    raise CommandError(f"No {option.name} called '{word}'.{hint}")


def _require(spec: CommandSpec, part: Subcommand | CommandSpec, values: Mapping[str, Value]) -> None:
    missing = [option.name for option in part.options if option.required and option.name not in values]
    if missing:
        raise CommandError(_usage_line(spec, part))


# -- how to write it ---------------------------------------------------------------------
def _option_usage(option: Option, flag_prefix: str) -> str:
    if option.type == "flag":
        return f"[{flag_prefix}{option.name}]"
    shown = option.name
    if option.type == "choice" and 0 < len(option.choices) <= 3:
        shown = "|".join(option.choices)
    return f"<{shown}>" if option.required else f"[{shown}]"


def _usage_line(spec: CommandSpec, part: Subcommand | CommandSpec) -> str:
    return f"Usage: {usage(spec, part)}"


def _label(spec: CommandSpec, part: Subcommand | CommandSpec) -> str:
    return f"/{spec.name}" + (f" {part.name}" if part is not spec else "")


def _part_named(spec: CommandSpec, name: str) -> Subcommand | CommandSpec | None:
    return spec.subcommand(name.lower())
