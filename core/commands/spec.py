"""What a command is: its name, description, typed options, who may run it, its handler.

A command is declared once, as a ``CommandSpec``; the help text, the Slack manifest, the
Discord app commands and the parsing of a typed line all come from the declaration::

    CommandSpec("usage", "Tokens this channel used today and in total", handler=usage)
    CommandSpec("persona", "Show or change this channel's persona", default="show", subcommands=(
        Subcommand("show", "Show the persona in force here", handler=show),
        Subcommand("set", "Give this channel a persona of your own", handler=set_,
                   options=(Option("text", "The system prompt", required=True),),
                   access=ADMINS_IN_SHARED, refusal="change the persona here"),
    ))

A handler is ``async def handler(ctx: CommandContext, **values) -> str | CommandResult``:
``values`` holds the options given, by name, already typed (a flag is a ``bool``, an
integer an ``int``, text and choices ``str``). A ``str`` result is shown to the user who
ran the command; a ``CommandResult(text, changed=True)`` may be shown to the channel.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from core.text import scrub
from core.types import ChannelRef, CommandRequest, CommandResult, ConversationRef

__all__ = [
    "ADMINS", "ADMINS_IN_SHARED", "EVERYONE", "Access", "Arguments", "CommandContext", "CommandSpec",
    "Handler", "Option", "OptionType", "Subcommand", "TypedCommandRequest", "Value",
]

# Who may run a command (or one of its subcommands):
# everyone; admins only, in DMs too; admins in shared channels, anyone in a DM (their own).
Access = Literal["everyone", "admins", "admins in shared channels"]
EVERYONE: Access = "everyone"
ADMINS: Access = "admins"
ADMINS_IN_SHARED: Access = "admins in shared channels"

# text: words (the last text option of a typed line takes the rest of it);
# choice: one of ``choices``; flag: on when given (``--name``); integer: a whole number.
OptionType = Literal["text", "choice", "flag", "integer"]
Value = str | int | bool
Handler = Callable[..., Awaitable[str | CommandResult]]

# Names Slack and Discord both accept: lowercase, at most 32 characters.
_NAME = re.compile(r"^[a-z0-9_-]{1,32}$")
# Discord's limit for descriptions (and choices); Slack's are longer.
_DESCRIPTION_CHARS = 100
# Discord's limit for the options of a command, and the subcommands of a group.
_MAX_PARTS = 25


@dataclass(frozen=True, slots=True)
class Option:
    """One argument of a command."""

    name: str
    description: str
    type: OptionType = "text"
    required: bool = False
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_name("option", self.name)
        _check_description(f"option {self.name!r}", self.description)
        object.__setattr__(self, "choices", tuple(self.choices))
        if self.type == "flag" and self.required:
            raise ValueError(f"option {self.name!r}: a flag cannot be required")
        if self.choices and self.type != "choice":
            raise ValueError(f"option {self.name!r}: only a choice has choices")
        for choice in self.choices:
            if not choice or len(choice) > _DESCRIPTION_CHARS or choice != choice.strip():
                raise ValueError(f"option {self.name!r}: choice {choice!r} must be 1-100 characters, not padded")

    @property
    def positional(self) -> bool:
        """Given by position in a typed line (flags are given by name)."""
        return self.type != "flag"


@dataclass(frozen=True, slots=True)
class Subcommand:
    """One action of a command with several (``/persona set``)."""

    name: str
    description: str
    handler: Handler = field(repr=False)
    options: tuple[Option, ...] = ()
    access: Access = EVERYONE
    # What a refused user may not do, for "Only admins can <refusal>…"; default "use /x y".
    refusal: str = ""

    def __post_init__(self) -> None:
        _check_name("subcommand", self.name)
        _check_description(f"subcommand {self.name!r}", self.description)
        object.__setattr__(self, "options", _checked_options(self.name, self.options))


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command: a handler with options, or subcommands (then ``default`` is the one a
    bare ``/name`` runs, if any)."""

    name: str
    description: str
    handler: Handler | None = field(default=None, repr=False)
    options: tuple[Option, ...] = ()
    subcommands: tuple[Subcommand, ...] = ()
    default: str = ""
    access: Access = EVERYONE
    refusal: str = ""

    def __post_init__(self) -> None:
        _check_name("command", self.name)
        _check_description(f"command {self.name!r}", self.description)
        object.__setattr__(self, "options", _checked_options(self.name, self.options))
        object.__setattr__(self, "subcommands", tuple(self.subcommands))
        if (self.handler is None) == (not self.subcommands):
            raise ValueError(f"command {self.name!r}: give it a handler or subcommands, not both")
        if self.subcommands and self.options:
            raise ValueError(f"command {self.name!r}: with subcommands, the options belong to them")
        names = [sub.name for sub in self.subcommands]
        if len(names) > _MAX_PARTS:
            raise ValueError(f"command {self.name!r}: at most {_MAX_PARTS} subcommands")
        if len(set(names)) != len(names):
            raise ValueError(f"command {self.name!r}: two subcommands have the same name")
        if self.default and self.default not in names:
            raise ValueError(f"command {self.name!r}: its default {self.default!r} is not a subcommand")

    def subcommand(self, name: str) -> Subcommand | None:
        return next((sub for sub in self.subcommands if sub.name == name), None)

    @property
    def parts(self) -> tuple[Subcommand | CommandSpec, ...]:
        """What can be run: each subcommand, or the command itself."""
        return self.subcommands or (self,)

    @property
    def admin_only_somewhere(self) -> bool:
        """Whether any part of it is for admins (Discord then hints it to managers only)."""
        return any(part.access != EVERYONE for part in self.parts)


@dataclass(frozen=True, slots=True)
class Arguments:
    """A command's arguments, typed: the subcommand ("" for none) and the options given."""

    subcommand: str = ""
    values: Mapping[str, Value] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Text a command stores (a persona) is cleaned like any message's.
        clean = {name: scrub(v) if isinstance(v, str) else v for name, v in self.values.items()}
        object.__setattr__(self, "values", MappingProxyType(clean))


@dataclass(frozen=True, slots=True)
class TypedCommandRequest(CommandRequest):
    """A request whose arguments the platform sent typed (Discord's options) rather than
    as a line of text (``args``) for core to parse."""

    arguments: Arguments = field(default_factory=Arguments)


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who runs a command, and where: what a handler gets besides its options."""

    request: CommandRequest

    @property
    def user_id(self) -> str:
        return self.request.user_id

    @property
    def user_name(self) -> str:
        return self.request.user_name

    @property
    def conversation(self) -> ConversationRef:
        return self.request.conversation

    @property
    def channel(self) -> ChannelRef:
        return self.request.conversation.channel_ref

    @property
    def platform(self) -> str:
        return self.request.conversation.platform

    @property
    def is_dm(self) -> bool:
        return self.request.is_dm

    @property
    def is_admin(self) -> bool:
        return self.request.is_admin


def _check_name(kind: str, name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r} must be 1-32 lowercase letters, digits, '_' or '-'")


def _check_description(what: str, description: str) -> None:
    if not description.strip() or len(description) > _DESCRIPTION_CHARS:
        raise ValueError(f"{what}: its description must be 1-{_DESCRIPTION_CHARS} characters")


def _checked_options(owner: str, options: Any) -> tuple[Option, ...]:
    options = tuple(options)
    names = [option.name for option in options]
    if len(names) > _MAX_PARTS:
        raise ValueError(f"{owner!r}: at most {_MAX_PARTS} options")
    if len(set(names)) != len(names):
        raise ValueError(f"{owner!r}: two options have the same name")
    positional = [option for option in options if option.positional]
    # In a typed line, words fill the options in order: an optional one before a
    # required one would leave the required one empty.
    for before, after in zip(positional, positional[1:]):
        if after.required and not before.required:
            raise ValueError(f"{owner!r}: required option {after.name!r} comes after optional {before.name!r}")
    return options
