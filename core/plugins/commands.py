"""``@command``: a plugin's slash command, declared once for Slack, Discord and the console.

    from core.plugins import Option, command

    @command("deploy", "Deploy a service", options=[
        Option("service", "Which service", required=True),
        Option("dry_run", "Only say what would happen", type="flag"),
    ], admin=True)
    async def deploy(ctx, service: str, dry_run: bool = False) -> str:
        return f"{ctx.user_name} deployed {service}"

- ``options`` are the arguments, in the order a typed line gives them
  (``/deploy api --dry_run``); each option is a parameter of the function, by name.
  Types: ``text`` (the default; the last text option takes the rest of the line),
  ``choice`` (one of ``choices``), ``flag`` (``--name`` on Slack and the console, a
  true/false option on Discord), ``integer``. An option that is not required needs a
  default in the function.
- ``admin``: False (anyone), True (admins only, in DMs too), or ``"shared"`` (admins in
  shared channels; in a DM, anyone).
- ``ctx`` says who and where: ``ctx.user_id``, ``ctx.user_name``, ``ctx.channel``,
  ``ctx.conversation``, ``ctx.platform``, ``ctx.is_dm``, ``ctx.is_admin``.
- Return the text to show the user who ran it; ``CommandResult(text, changed=True)`` for
  a change the channel should see (Slack posts it in the channel). Raise ``CommandError``
  with a message for the user to refuse. Any other exception is logged and the user is
  told that something went wrong.
- A plain ``def`` runs in a worker thread, so that blocking code does not stall the bot.

The decorated object is still the function (``await deploy(ctx, "api")`` calls it, as
a plugin's tests may); its declaration is ``deploy.spec``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Literal

from core.commands.spec import ADMINS, ADMINS_IN_SHARED, EVERYONE, Access, CommandSpec, Option
from core.types import CommandResult

__all__ = ["PluginCommand", "command"]

AdminRule = bool | Literal["shared"]


class PluginCommand:
    """A command made by ``@command`` from a function (see the module's docstring)."""

    def __init__(self, fn: Callable[..., Any], spec: CommandSpec) -> None:
        self._fn = fn
        self.spec = spec
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<command /{self.spec.name} from {self._fn.__module__}>"


def command(
    name: str, description: str, *, options: Iterable[Option] = (), admin: AdminRule = False
) -> Callable[[Callable[..., Any]], PluginCommand]:
    """Declare a command; see the module's docstring."""
    access = _access(admin)
    options = tuple(options)

    def declare(fn: Callable[..., Any]) -> PluginCommand:
        _check_parameters(fn, options)
        try:
            spec = CommandSpec(name, description, _handler(fn), options=options, access=access)
        except ValueError as exc:
            raise TypeError(f"@command {fn.__qualname__}: {exc}") from None
        return PluginCommand(fn, spec)

    return declare


def _access(admin: AdminRule) -> Access:
    if admin is True:
        return ADMINS
    if admin is False:
        return EVERYONE
    if admin == "shared":
        return ADMINS_IN_SHARED
    raise TypeError(f"@command admin= must be True, False or 'shared', not {admin!r}")


def _handler(fn: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):
        return fn

    async def in_thread(ctx: Any, **values: Any) -> str | CommandResult:
        return await asyncio.to_thread(fn, ctx, **values)

    return in_thread


def _check_parameters(fn: Callable[..., Any], options: tuple[Option, ...]) -> None:
    """Each option a keyword parameter; a parameter that is not an option has a default;
    an option that may be left out has one too. Found at import, not at the first use."""
    where = f"@command {getattr(fn, '__qualname__', fn)!r}"
    if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
        raise TypeError(f"{where}: a command returns its answer; it cannot be a generator")
    params = list(inspect.signature(fn).parameters.values())
    if not params or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        raise TypeError(f"{where}: its first parameter is the context (ctx)")
    given = {p.name: p for p in params[1:]}
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    for option in options:
        param = given.get(option.name)
        if param is None and not takes_any:
            raise TypeError(f"{where}: option {option.name!r} has no parameter of that name")
        if param is not None and param.kind not in keyword:
            raise TypeError(f"{where}: parameter {option.name!r} must be passable by name")
        if param is not None and not option.required and param.default is param.empty:
            raise TypeError(f"{where}: option {option.name!r} may be left out, so give {option.name} a default")
    declared = {option.name for option in options}
    for param in given.values():
        if param.name not in declared and param.kind in keyword and param.default is param.empty:
            raise TypeError(f"{where}: parameter {param.name!r} is not an option; declare it or give it a default")
