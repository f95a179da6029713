"""Persona presets: TOML files with a system prompt and optional model settings.

A preset file looks like::

    name = "concise"
    description = "Short, direct answers."
    system_prompt = "You answer in as few words as will do."
    # optional: model = "gpt-4o", temperature = 0.2, max_tokens = 400,
    # vision = false (the model can't take images; default: OPENAI_VISION),
    # tools = ["time", "github.search_issues"] (the tools its channels may use),
    # suggested_prompts = ["Summarise this channel"] (Slack offers them in a DM, at most 4),
    # loading_messages = ["Reading…", "Thinking…"] (Slack's status line rotates them)
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from core.errors import ConfigurationError
from core.types import Persona

__all__ = ["load_presets", "parse_preset"]

# The fields that are lists of text, and what each holds (for the error message).
_TEXT_LISTS = {"tools": "tool names", "suggested_prompts": "prompts", "loading_messages": "messages"}
_FIELDS = {"name", "description", "system_prompt", "model", "temperature", "max_tokens", "vision", *_TEXT_LISTS}


def parse_preset(text: str, source: str) -> Persona:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"persona preset {source} is not valid TOML: {exc}") from None
    unknown = set(data) - _FIELDS
    if unknown:
        raise ConfigurationError(f"persona preset {source} has unknown keys: {sorted(unknown)}")
    if not isinstance(data.get("system_prompt"), str) or not data["system_prompt"].strip():
        raise ConfigurationError(f"persona preset {source} needs a non-empty system_prompt")
    if "vision" in data and not isinstance(data["vision"], bool):
        raise ConfigurationError(f"persona preset {source}: vision must be true or false")
    for key, what in _TEXT_LISTS.items():
        if key in data:
            values = data[key]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ConfigurationError(f"persona preset {source}: {key} must be a list of {what}")
            data[key] = tuple(values)
    data.setdefault("name", Path(source).stem)
    return Persona(**data)


def load_presets(directories: Iterable[Path]) -> dict[str, Persona]:
    """Presets from ``*.toml`` in each directory; a later directory overrides an earlier one."""
    presets: dict[str, Persona] = {}
    for directory in directories:
        if not directory.is_dir():
            raise ConfigurationError(f"persona directory {directory} does not exist")
        for path in sorted(directory.glob("*.toml")):
            persona = parse_preset(path.read_text(encoding="utf-8"), str(path))
            presets[persona.name] = persona
    return presets
