"""Make pydantic's JSON schema of a tool's parameters plain for a chat API.

pydantic writes a ``title`` on every property and moves enums and models to ``$defs``
behind ``$ref``. Models read a flat schema more reliably, and every title is tokens
spent on each request, so titles go and references are written in place (a recursive
model keeps its ``$defs``: it cannot be written out).
"""

from __future__ import annotations

from typing import Any

__all__ = ["plain_schema"]

_REF_PREFIX = "#/$defs/"
# Keywords whose values are data, not schemas: a default may well hold a "title" key.
_DATA_KEYS = frozenset({"default", "enum", "const", "examples"})


def plain_schema(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema.get("$defs", {})
    try:
        result = _inline(schema, defs, ())
    except _Recursive:
        result = _drop_titles(schema)
    else:
        result.pop("$defs", None)
    result.setdefault("properties", {})
    return result


class _Recursive(Exception):
    pass


def _inline(node: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        name = ref[len(_REF_PREFIX):]
        if name in seen:
            raise _Recursive(name)
        # Keys beside the $ref (a description, a default) win over the definition's.
        target = _inline(defs[name], defs, seen + (name,))
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**target, **_inline(rest, defs, seen)}
    return {
        key: _inline_value(key, value, defs, seen)
        for key, value in node.items() if key != "$defs" and not _is_title(key, value)
    }


def _inline_value(key: str, value: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if key in _DATA_KEYS:
        return value
    if key == "properties" and isinstance(value, dict):
        # Property names are the parameters' own: a parameter may be called "title".
        return {name: _inline(prop, defs, seen) for name, prop in value.items()}
    return _inline(value, defs, seen)


def _drop_titles(node: Any) -> Any:
    if isinstance(node, list):
        return [_drop_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: _drop_titles_value(key, value) for key, value in node.items() if not _is_title(key, value)}


def _drop_titles_value(key: str, value: Any) -> Any:
    if key in _DATA_KEYS:
        return value
    if key in ("properties", "$defs") and isinstance(value, dict):
        return {name: _drop_titles(prop) for name, prop in value.items()}
    return _drop_titles(value)


def _is_title(key: str, value: Any) -> bool:
    return key == "title" and isinstance(value, str)
