"""Read a tool's description and its parameters' descriptions from a Google-style docstring.

    \"\"\"The current time in a time zone.

    Args:
        zone: An IANA zone such as "Europe/Paris".
        seconds (bool): Include the seconds.
            A continuation line, indented further, joins the one above.

    Returns:
        Anything after the first section header is left out of the description.
    \"\"\"

Only what the model needs is kept: the text before the first section, and the Args.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

__all__ = ["Docstring", "parse_docstring"]

_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns?|Yields?|Raises|"
    r"Examples?|Notes?|Warnings?|See Also|Attributes|Todo)\s*:\s*$")
_ARGS_SECTIONS = {"Args", "Arguments", "Parameters", "Params", "Keyword Args", "Keyword Arguments"}
# "name: text" or "name (type): text" at the section's own indent.
_ARG = re.compile(r"^\*{0,2}(?P<name>\w+)\s*(\([^)]*\))?\s*:\s*(?P<text>.*)$")


@dataclass(frozen=True, slots=True)
class Docstring:
    description: str
    params: dict[str, str]  # parameter name → its description


def parse_docstring(doc: str | None) -> Docstring:
    lines = inspect.cleandoc(doc or "").splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    body: list[str] = []
    for line in lines + [""]:
        header = _SECTION.match(line)
        if header or (section and line and not line[0].isspace()):
            if section in _ARGS_SECTIONS:
                params.update(_parse_args(body))
            section, body = (header.group(1) if header else "other"), []
        elif section is None:
            summary.append(line)
        else:
            body.append(line)
    if section in _ARGS_SECTIONS:
        params.update(_parse_args(body))
    return Docstring("\n".join(summary).strip(), params)


def _parse_args(body: list[str]) -> dict[str, str]:
    indent = min((len(line) - len(line.lstrip()) for line in body if line.strip()), default=0)
    params: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in body:
        if not line.strip():
            continue
        entry = _ARG.match(line[indent:]) if not line[indent].isspace() else None
        if entry:
            current = params.setdefault(entry.group("name"), [])
            current.append(entry.group("text").strip())
        elif current is not None:
            current.append(line.strip())
    return {name: " ".join(part for part in parts if part) for name, parts in params.items()}
