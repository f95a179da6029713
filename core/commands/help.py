"""The help text, written from the command table: a line per command (or subcommand)
with how to write it and what it does, a mark for what only admins may run."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from core.commands.parse import usage
from core.commands.spec import ADMINS, ADMINS_IN_SHARED, CommandSpec, Option

__all__ = ["INTRO", "help_text"]

INTRO = """\
Mention me (or DM me) and I answer; I remember each conversation.
Send images or files (text, code, logs, PDFs) with your message and I read them."""

_MARKS = {ADMINS_IN_SHARED: " *", ADMINS: " **"}
_FOOTNOTES = {
    ADMINS_IN_SHARED: "* only admins, in shared channels (in a DM, you may).",
    ADMINS: "** only admins, in DMs too.",
}


def help_text(
    specs: Iterable[CommandSpec], *, exclude: Collection[str] = (), flag_prefix: str = "--", note: str = ""
) -> str:
    """Help for ``specs`` but those in ``exclude`` (what a platform keeps for itself).
    ``flag_prefix``: how flags are written (``--workspace``; "" on Discord); ``note`` goes last."""
    specs = [spec for spec in specs if spec.name not in exclude]
    rows = [(usage(spec, part, flag_prefix=flag_prefix), part.description + _MARKS.get(part.access, ""), part.access)
            for spec in specs for part in spec.parts]
    width = max((len(shown) for shown, _, _ in rows), default=0) + 2
    lines = [INTRO, "Commands:"] + [f"  {shown.ljust(width)}{what}" for shown, what, _ in rows]
    flags = _flags(specs)
    if flags:
        lines.append("Options:")
        lines += [f"  {flag_prefix}{option.name}: {option.description}" for option in flags]
    used = {access for _, _, access in rows}
    lines += [footnote for access, footnote in _FOOTNOTES.items() if access in used]
    if note:
        lines.append(note)
    return "\n".join(lines)


def _flags(specs: Iterable[CommandSpec]) -> list[Option]:
    """Each flag once (the same ``--workspace`` serves several subcommands)."""
    seen: dict[str, Option] = {}
    for spec in specs:
        for part in spec.parts:
            for option in part.options:
                if option.type == "flag":
                    seen.setdefault(option.name, option)
    return list(seen.values())
