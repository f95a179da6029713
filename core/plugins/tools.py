"""``@tool``: a plain Python function becomes a tool the model can call.

    @tool
    async def time(zone: str = "UTC") -> str:
        \"\"\"The current time in an IANA time zone.

        Args:
            zone: An IANA zone such as "Europe/Paris".
        \"\"\"

- The name is the function's (or ``name=``), the description its docstring's text before
  the first section (or ``description=``); one of them must say what the tool does.
- The JSON schema comes from the parameters: their type hints (anything pydantic reads:
  ``int``, ``Literal[...]``, ``list[str]``, enums, models), defaults, and descriptions
  from the docstring's ``Args:`` or ``Annotated[str, Field(description=...)]`` (which wins).
  Extra arguments are refused.
- The model's arguments are validated (and coerced, "3" → 3) by pydantic before the
  function runs; invalid ones raise ``ToolError`` saying what is wrong, which the model
  reads and can correct.
- The result is text: a ``str`` as it is, anything else as JSON.
- ``async def`` runs on the event loop; a plain ``def`` runs in a worker thread, so a
  blocking library call does not stall the bot (a thread cannot be stopped: a call that
  times out goes on in the background until it returns).

The decorated object is still the function: ``await time(zone="UTC")`` calls it directly,
as a plugin's own tests may.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, overload

import pydantic
import pydantic_core

from core.plugins.docstrings import parse_docstring
from core.plugins.schema import plain_schema
from core.tools.registry import ToolInfo

__all__ = ["FunctionTool", "ToolError", "tool"]

# A plugin's tool names; the "." is kept for MCP servers' "server.tool".
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_UNSUPPORTED = {
    inspect.Parameter.POSITIONAL_ONLY: "positional-only",
    inspect.Parameter.VAR_POSITIONAL: "*args",
    inspect.Parameter.VAR_KEYWORD: "**kwargs",
}


class ToolError(Exception):
    """A failure the model should read as it is: raise it from a tool with a message that
    says what went wrong and, if it can, what to do instead ("unknown time zone 'X';
    use an IANA name such as 'Europe/Paris'"). Any other exception reaches the model too
    (its message), but says less about what to do."""


class FunctionTool:
    """A tool made by ``@tool`` from a function (see the module's docstring)."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None, description: str | None = None) -> None:
        if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
            raise TypeError(f"@tool {fn.__qualname__}: a tool returns its result; it cannot be a generator")
        name = name or fn.__name__
        if not _NAME.match(name):
            raise TypeError(f"@tool {fn.__qualname__}: name {name!r} must be 1-64 letters, digits, '_' or '-'")
        doc = parse_docstring(fn.__doc__)
        description = (description or doc.description).strip()
        if not description:
            raise TypeError(f"@tool {fn.__qualname__}: give it a docstring (or description=...) saying what it does")
        self._fn = fn
        self._arguments = _arguments_model(fn)
        self._runs_in_thread = not inspect.iscoroutinefunction(fn)
        self.info = ToolInfo(name, description, _parameters_schema(self._arguments, doc.params), fn.__module__)
        # Still looks like the function: its name, docstring, module, __wrapped__.
        functools.update_wrapper(self, fn)

    async def call(self, arguments: Mapping[str, Any]) -> str:
        values = self._validate(arguments)
        if self._runs_in_thread:
            result = await asyncio.to_thread(self._fn, **values)
        else:
            result = await self._fn(**values)
        return result_text(result)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)

    def with_source(self, source: str) -> FunctionTool:
        """The same tool, listed under ``source`` (the plugin that declared it)."""
        copied = copy.copy(self)
        copied.info = replace(self.info, source=source)
        return copied

    def __repr__(self) -> str:
        return f"<tool {self.info.name!r} from {self.info.source}>"

    def _validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(arguments, Mapping):
            raise ToolError(f"invalid arguments for {self.info.name}: expected a JSON object, got {type(arguments).__name__}")
        try:
            parsed = self._arguments.model_validate(arguments)
        except pydantic.ValidationError as exc:
            raise ToolError(f"invalid arguments for {self.info.name}: {_problems(exc)}") from None
        # Fields are stored under safe names (see _arguments_model); the aliases are the
        # parameters' own names.
        return {field.alias: getattr(parsed, key) for key, field in type(parsed).model_fields.items()}


@overload
def tool(fn: Callable[..., Any], /) -> FunctionTool: ...
@overload
def tool(*, name: str | None = None, description: str | None = None) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    fn: Callable[..., Any] | None = None, /, *, name: str | None = None, description: str | None = None
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Declare a tool: ``@tool`` or ``@tool(name="...", description="...")``."""
    if fn is not None:
        return FunctionTool(fn)
    return lambda fn: FunctionTool(fn, name=name, description=description)


def result_text(value: Any) -> str:
    """What the model reads of a tool's return value."""
    if isinstance(value, str):
        return value
    return pydantic_core.to_json(value, fallback=str).decode()


def _arguments_model(fn: Callable[..., Any]) -> type[pydantic.BaseModel]:
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # an annotation naming what the module does not define
        raise TypeError(f"@tool {fn.__qualname__}: cannot read its type hints: {exc}") from exc
    fields: dict[str, Any] = {}
    for index, param in enumerate(inspect.signature(fn).parameters.values()):
        if param.kind in _UNSUPPORTED:
            raise TypeError(f"@tool {fn.__qualname__}: {_UNSUPPORTED[param.kind]} parameters cannot come from JSON")
        default = ... if param.default is param.empty else param.default
        # The field's own name is a safe one: a parameter may be called "json" or
        # "schema", which BaseModel's attributes would shadow. Its alias is the real name.
        fields[f"p{index}"] = (hints.get(param.name, Any), pydantic.Field(default, alias=param.name))
    config = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=False)
    return pydantic.create_model(f"{fn.__name__}_arguments", __config__=config, **fields)


def _parameters_schema(model: type[pydantic.BaseModel], described: Mapping[str, str]) -> dict[str, Any]:
    schema = plain_schema(model.model_json_schema(by_alias=True))
    for name, prop in schema["properties"].items():
        if name in described and "description" not in prop:
            prop["description"] = described[name]
    return schema


def _problems(exc: pydantic.ValidationError) -> str:
    """``"zone: Field required; count: Input should be a valid integer"`` (no values: the
    model knows what it sent, and a log line must not carry it)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'arguments'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)
    )
